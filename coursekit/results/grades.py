"""Read the grades nbgrader recorded back, grouped by skill, and the failing cells' messages.

Every autograder test cell's ``grade_id`` starts with its group (``forward_``, ``loss_``,
``grads_``, ``train_``, ``predict_``...): the group of a cell is the part before the first ``_``.
"""
from collections import defaultdict
from pathlib import Path


__all__ = ["group_of", "read_grades", "failure_messages"]


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
    """``{grade_id: one-line message}`` for every test cell that failed in a graded notebook
    (an error output; stderr is output, not failure: ``coursekit.engine.stderr``)."""
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
    return messages
