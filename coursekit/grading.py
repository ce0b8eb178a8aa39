"""Run real nbgrader on a course folder and read the grades back, grouped by skill.

Every autograder test cell's ``grade_id`` starts with its group (``forward_``, ``loss_``,
``grads_``, ``train_``, ``predict_``...): the group of a cell is the part before the first ``_``.
"""
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path


__all__ = ["NbgraderError", "run_nbgrader", "group_of", "read_grades", "failure_messages"]


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message holds the end of its log."""


def run_nbgrader(course_root, *args, timeout=None):
    """Run ``nbgrader ARGS`` in ``course_root`` with this interpreter; return its log.

    Raises:
        NbgraderError: nbgrader exited non-zero (the message ends with its last log lines).
    """
    # nbgrader runs the ``alembic`` and ``jupyter`` commands of its environment: put this
    # interpreter's bin folder first on PATH, also when the venv is not activated.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = dict(os.environ, PATH=path, COURSEKIT_ROOT=str(Path(course_root).resolve()))
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_root, env=env,
                          capture_output=True, text=True, timeout=timeout)
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        tail = "\n".join(log.splitlines()[-30:])
        raise NbgraderError(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n{tail}")
    return log


def group_of(grade_id):
    """The skill group of a test cell: ``"grads_hidden"`` -> ``"grads"``."""
    return grade_id.split("_", 1)[0]


def read_grades(course_root, assignment_id):
    """Scores of every autograded submission.

    Returns:
        dict student id -> {"cells": {grade_id: score}, "groups": {group: score},
        "max_groups": {group: max score}, "total": score, "max_total": max score}.
    """
    db_url = f"sqlite:///{Path(course_root).resolve() / 'gradebook.db'}"
    result = {}
    from nbgrader.api import Gradebook  # here: importing nbgrader takes ~5 s of CPU

    with Gradebook(db_url) as gb:
        for submission in gb.assignment_submissions(assignment_id):
            cells, groups, max_groups = {}, defaultdict(float), defaultdict(float)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[grade.name] = grade.score
                    groups[group_of(grade.name)] += grade.score
                    max_groups[group_of(grade.name)] += grade.max_score
            result[submission.student.id] = {
                "cells": cells, "groups": dict(groups), "max_groups": dict(max_groups),
                "total": sum(cells.values()), "max_total": sum(max_groups.values())}
    return result


def failure_messages(notebook_path):
    """``{grade_id: one-line message}`` for every test cell that failed in a graded notebook."""
    import nbformat

    nb = nbformat.read(notebook_path, as_version=4)
    messages = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                first = (output.evalue or "").strip().splitlines()
                messages[meta["grade_id"]] = f"{output.ename}: {first[0] if first else ''}"
                break
            if output.output_type == "stream" and output.name == "stderr":
                messages[meta["grade_id"]] = "wrote to stderr: " + output.text.strip()[:200]
                break
    return messages
