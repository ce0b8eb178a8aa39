"""Read the grades nbgrader recorded back, grouped by skill, and the failing cells' messages.

Every autograder test cell's ``grade_id`` starts with its group (``forward_``, ``loss_``,
``grads_``, ``train_``, ``predict_``...): the group of a cell is the part before the first ``_``.
"""
from collections import Counter, defaultdict


__all__ = ["group_of", "read_grades", "gradebook_scores", "max_groups_of", "failure_messages"]


def _db_url(course_root):
    """The course's gradebook URL (``c.CourseDirectory.db_url``, SQLite or PostgreSQL)."""
    from coursekit.course.course import Course

    return Course(course_root).gradebook_url


def group_of(grade_id):
    """The skill group of a test cell: ``"grads_hidden"`` -> ``"grads"``."""
    return grade_id.split("_", 1)[0]


def read_grades(course_root, assignment_id):
    """Scores of every autograded submission.

    Returns:
        dict student id -> {"cells": {grade_id: score}, "groups": {group: score},
        "max_groups": {group: max score}, "total": score, "max_total": max score}.
    """
    db_url = _db_url(course_root)
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


def gradebook_scores(course_root, assignment_id):
    """Per student, from the gradebook: total, per-group scores, per-test scores and maxima.

    Returns:
        dict student -> {"total", "max_total", "groups", "max_groups",
        "tests": {grade_id: (score, max_score)}} where ``tests`` holds the code test cells.
    """
    db_url = _db_url(course_root)
    result = {}
    from nbgrader.api import Gradebook  # here: importing nbgrader takes ~5 s of CPU

    with Gradebook(db_url) as gb:
        for submission in gb.assignment_submissions(assignment_id):
            groups, max_groups, tests = Counter(), Counter(), {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    group = group_of(grade.name)
                    groups[group] += grade.score
                    max_groups[group] += grade.max_score
                    if grade.cell.cell_type == "code":
                        tests[grade.name] = (grade.score, grade.max_score)
            result[submission.student.id] = {
                "total": submission.score, "max_total": submission.max_score,
                "groups": {g: groups[g] for g in max_groups}, "max_groups": dict(max_groups),
                "tests": tests}
    return result


def max_groups_of(course_root, assignment_id):
    """{group: maximum score} of the assignment's test and written cells, from the gradebook."""
    db_url = _db_url(course_root)
    max_groups = Counter()
    from nbgrader.api import Gradebook  # here: importing nbgrader takes ~5 s of CPU

    with Gradebook(db_url) as gb:
        for notebook in gb.find_assignment(assignment_id).notebooks:
            for cell in notebook.grade_cells:
                max_groups[group_of(cell.name)] += cell.max_score
    return dict(max_groups)


def failure_messages(notebook_path):
    """``{grade_id: one-line message}`` for every test cell that failed in a graded notebook.

    The message is the error's first line, or ``not answered yet: <function> (...)`` for a
    stub (:func:`coursekit.results.errors.readable_error`). Output on stderr is output, not a
    failure (``usefuns.stderr``).
    """
    import nbformat

    from coursekit.results.errors import readable_error, student_cells

    nb = nbformat.read(notebook_path, as_version=4)
    cells = student_cells(nb)
    messages = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                messages[meta["grade_id"]] = readable_error(output, cells)[0]
                break
    return messages
