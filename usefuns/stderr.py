"""A test cell fails on its own errors, never on what student code writes to stderr.

nbgrader decides a code cell's score in one module-level function,
``nbgrader.utils.determine_grade``: an error output *or any output on stderr* scores 0, and
``nbgrader validate`` (the command, and the assignment list's Validate button) reports such a
cell as failed. So a correct ``nn_train`` whose loop shows a ``tqdm`` progress bar (tqdm writes
to stderr), an answer that triggers a PyTorch warning, uses ``logging`` (its default handler
writes to stderr) or calls ``print(..., file=sys.stderr)`` zeroes every test cell that calls it,
with no error anywhere in the feedback. nbgrader's ``IgnorePattern`` (0.9.4) only deletes the
stderr outputs that match one pattern, hiding them too.

:func:`stderr_fails_cells` ``(False)`` swaps ``nbgrader.utils.determine_grade`` and
``nbgrader.utils.has_failed`` for versions that read error outputs only (nbgrader's
``SaveAutoGrades`` and ``Validator`` look them up in ``nbgrader.utils`` at each call, and
nbgrader has no setting for this rule). What a student writes to stderr stays in the graded
notebook and the feedback as it was. The course's ``nbgrader_config.py`` calls it, so plain
``nbgrader autograde``, ``nbgrader validate`` and ``coursekit autograde`` (whose score decision
also reads errors only) follow one rule; ``stderr_fails_cells(True)`` restores nbgrader's.
Partial credit (a number as the cell's result) is unchanged.
"""
from nbformat import NotebookNode
from nbgrader import utils

__all__ = ["stderr_fails_cells", "fails_cells", "determine_grade", "has_failed"]

_NBGRADER = {"determine_grade": utils.determine_grade, "has_failed": utils.has_failed}


def _without_stderr(cell):
    """A shallow copy of a code cell without its stderr stream outputs."""
    copy = NotebookNode(cell)
    copy["outputs"] = [o for o in cell.get("outputs", []) if not (
        o.get("output_type") == "stream" and o.get("name") == "stderr")]
    return copy


def determine_grade(cell, log=None):
    """``nbgrader.utils.determine_grade`` where stderr output does not fail a code cell.

    Returns:
        (score or None, max points), as nbgrader's.
    """
    if cell.get("cell_type") == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
        cell = _without_stderr(cell)
    return _NBGRADER["determine_grade"](cell, log)


def has_failed(cell):
    """``nbgrader.utils.has_failed`` that counts error outputs only."""
    if cell.get("cell_type") != "code":
        return False
    return any(o.get("output_type") == "error" for o in cell.get("outputs", []))


def stderr_fails_cells(fails):
    """Whether output on stderr zeroes a graded code cell (nbgrader's rule) in this process.

    Args:
        fails: False: a cell fails on its errors only (this kit's rule); True: nbgrader's.
    """
    if fails:
        utils.determine_grade = _NBGRADER["determine_grade"]
        utils.has_failed = _NBGRADER["has_failed"]
    else:
        utils.determine_grade = determine_grade
        utils.has_failed = has_failed


def fails_cells():
    """Whether output on stderr zeroes a graded code cell in this process now (after the
    course's ``nbgrader_config.py`` has run, the course's choice)."""
    return utils.has_failed is _NBGRADER["has_failed"]
