"""The solved source notebook runs end to end under nbval (lax mode: see the README)."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ASSIGNMENT, ROOT


@pytest.mark.slow
def test_does_the_solved_notebook_pass_nbval(tmp_path):
    # A copy, so the run's best_model.pt never lands in source/ (nbgrader would release it).
    notebook = tmp_path / f"{ASSIGNMENT}.ipynb"
    shutil.copy(ROOT / "source" / ASSIGNMENT / notebook.name, notebook)
    env = dict(os.environ, COURSEKIT_ROOT=str(ROOT), MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q",
         "--rootdir", str(tmp_path), str(notebook)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout
    assert (tmp_path / "best_model.pt").is_file(), "the search should save best_model.pt"
