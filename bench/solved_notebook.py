"""Time the solved notebook on the embedded digits, and one submission's autograde.

    .venv/bin/python bench/solved_notebook.py [--runs 3]

Prints the median wall time of a whole run of the solved source notebook (a copy, in a
scratch folder), its slowest cells, and the median time of `nbgrader autograde` for one correct
submission (kernel start included). Issue targets: the notebook under 3 minutes and one
submission's autograde under 1 minute, on a 2-core CPU.
"""
import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

from coursekit.cli import release
from coursekit.course import ROOT_ENV, copy_course
from coursekit.course.commands import run_nbgrader
from coursekit.term.samples import write_submission

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "two_layer_net"


def run_notebook(workdir):
    """Seconds for one run of the solved notebook, and (seconds, cell head) per code cell."""
    nb = nbformat.read(ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    start = time.perf_counter()
    client.execute()
    total = time.perf_counter() - start
    cells = []
    for cell in nb.cells:
        meta = cell.metadata.get("execution", {})
        if cell.cell_type == "code" and "iopub.execute_input" in meta:
            began = _stamp(meta["iopub.execute_input"])
            ended = _stamp(meta["shell.execute_reply"])
            cells.append((ended - began, cell.source.splitlines()[0][:60]))
    return total, cells


def _stamp(text):
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def autograde_once(workdir):
    """Seconds for `nbgrader autograde` of one correct submission in a fresh scratch course."""
    course = copy_course(ROOT, workdir / "course")
    release(course)
    write_submission(course, ASSIGNMENT, course / "assignments" / ASSIGNMENT / "samples",
                     "correct_compact", "student")
    start = time.perf_counter()
    run_nbgrader(course, "autograde", ASSIGNMENT, "--force")
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ[ROOT_ENV] = str(ROOT)
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"torch {torch.__version__}, "
          f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'}")
    notebook_times, grade_times, slowest = [], [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            total, cells = run_notebook(Path(tmp))
            notebook_times.append(total)
            slowest = sorted(cells, reverse=True)[:5]
        with tempfile.TemporaryDirectory() as tmp:
            grade_times.append(autograde_once(Path(tmp)))
        print(f"run {run + 1}: notebook {total:.1f} s, autograde of one submission "
              f"{grade_times[-1]:.1f} s")
    print(f"solved notebook, median of {args.runs}: {statistics.median(notebook_times):.1f} s "
          f"(target < 180 s)")
    print(f"autograde of one submission, median of {args.runs}: "
          f"{statistics.median(grade_times):.1f} s (target < 60 s)")
    print("slowest cells of the last run:")
    for seconds, head in slowest:
        print(f"  {seconds:6.1f} s  {head}")


if __name__ == "__main__":
    main()
