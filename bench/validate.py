"""Time the student's self-check: `nbgrader validate` of a complete notebook.

    .venv/bin/python bench/validate.py [--runs 3] [--busy N] [--release FILE]

A complete notebook is the release answered as the sample `correct_compact` (its functions and
its best_model.pt) with every written answer filled. It is validated, each time in a fresh copy:

- student folder: in the notebook's own folder, with nbgrader's defaults (30 s per cell, no
  nbgrader_config.py, an empty Jupyter config folder);
- course root: from the course folder (a scratch copy of it), with the course's
  nbgrader_config.py (180 s per cell, the listing validator);
- bundle: from a student bundle's folder, with its nbgrader_config.py;
- each of these again without best_model.pt (a student who has not run the search yet).

Prints the machine, the load average, the median wall time of each case (nbgrader's start, the
kernel and every cell) against the issue's target of 60 s on 2 cores, and the verdict line of
each validation. ``--busy N`` runs N busy processes (one core each) meanwhile, as a browser and
JupyterLab on the same machine would. ``--release FILE`` answers another release notebook
(an older one, from ``git show REV:release/two_layer_net/two_layer_net.ipynb``) to compare.
"""
import argparse
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "two_layer_net"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
RELEASE = ROOT / "release" / ASSIGNMENT / NOTEBOOK  # --release replaces it


def complete_folder(dest, with_model=True):
    """Write the complete answered notebook (and best_model.pt) into ``dest``; return it."""
    from coursekit.term import samples

    answers, files = samples.sample_contents(ROOT / "assignments" / ASSIGNMENT / "samples",
                                             "correct_compact")
    nb = samples.fill_notebook(nbformat.read(RELEASE, as_version=4), answers)
    for cell in nb.cells:  # written answers
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and meta.get("solution"):
            cell.source = "The learning rate was too small and the regularisation too strong."
    dest.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest / NOTEBOOK)
    for name, path in files.items():
        if with_model or name != "best_model.pt":
            shutil.copy(path, dest / name)
    return dest


def validate(cwd, notebook, jupyter_config):
    """(seconds, verdict line) of one `nbgrader validate` run in ``cwd``."""
    env = {k: v for k, v in os.environ.items() if k not in ("COURSEKIT_CELL_TIMEOUT",
                                                            "COURSEKIT_ROOT")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["JUPYTER_CONFIG_DIR"] = str(jupyter_config)  # no ~/.jupyter/nbgrader_config.py
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(notebook)],
                          cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    verdict = next((line for line in lines if line.startswith(("Success", "VALIDATION"))),
                   (lines or ["(no output)"])[-1])
    summary = next((line for line in lines if line.startswith("Self-check:")), "")
    return seconds, f"{verdict[:40]} {summary}".strip()


def cases(tmp, with_model):
    """{case: (cwd, notebook path)} in fresh folders under ``tmp``."""
    from coursekit.course import copy_course
    from coursekit.term import bundle

    own = complete_folder(tmp / "own" / ASSIGNMENT, with_model)
    course = copy_course(ROOT, tmp / "course")
    complete_folder(course / "check" / ASSIGNMENT, with_model)
    (tmp / "bundle").mkdir()
    (tmp / "bundle" / "nbgrader_config.py").write_text(
        bundle.student_texts(ROOT, ASSIGNMENT)["nbgrader_config.py"])
    complete_folder(tmp / "bundle" / ASSIGNMENT, with_model)
    return {"student folder, nbgrader defaults": (own, own / NOTEBOOK),
            "course root, course config": (course, Path("check") / ASSIGNMENT / NOTEBOOK),
            "bundle folder, bundle config": (tmp / "bundle", Path(ASSIGNMENT) / NOTEBOOK)}


def _busy():
    while True:
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--busy", type=int, default=0, help="busy processes meanwhile")
    parser.add_argument("--release", default=None, help="another release notebook to answer")
    args = parser.parse_args()
    global RELEASE
    RELEASE = Path(args.release).resolve() if args.release else RELEASE
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), platform.machine())
    print(f"machine: {os.cpu_count()} cores, {cpu}, torch {torch.__version__}; "
          f"release {RELEASE}; load average at start {os.getloadavg()[0]:.2f}; {args.busy} busy processes")
    busy = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(args.busy)]
    for proc in busy:
        proc.start()
    try:
        for with_model in (True, False):
            times = {}
            for run in range(args.runs):
                with tempfile.TemporaryDirectory() as tmp:
                    empty = Path(tmp) / "jupyter-config"
                    empty.mkdir()
                    for name, (cwd, notebook) in cases(Path(tmp), with_model).items():
                        seconds, verdict = validate(cwd, notebook, empty)
                        times.setdefault(name, []).append(seconds)
                        print(f"  run {run + 1}, {name}{'' if with_model else ', no model'}: "
                              f"{seconds:.1f} s  {verdict}", flush=True)
            print(f"{'with' if with_model else 'without'} best_model.pt, median of {args.runs}:")
            for name, values in times.items():
                median = statistics.median(values)
                print(f"  {name:32} {median:6.1f} s  ({', '.join(f'{v:.0f}' for v in values)})"
                      f"  {'ok' if median <= 60 else 'OVER'} (target <= 60 s)")
    finally:
        for proc in busy:
            proc.terminate()
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
