"""Does a test cell fail only on its own errors, not on stderr? (usefuns.stderr)"""
import subprocess
import sys
import textwrap

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from usefuns import stderr
from nbgrader import utils


def _test_cell(*outputs, points=2):
    cell = new_code_cell("check()", metadata={"nbgrader": {
        "grade": True, "grade_id": "t", "locked": True, "points": points, "schema_version": 3,
        "solution": False, "task": False}})
    cell.outputs = list(outputs)
    return cell


ERR = new_output("stream", name="stderr", text="training: 100%|##########| 5/5\n")
OUT = new_output("stream", name="stdout", text="ok\n")
ERROR = new_output("error", ename="AssertionError", evalue="wrong", traceback=[])


@pytest.fixture
def kit_rule():
    stderr.stderr_fails_cells(False)
    yield
    stderr.stderr_fails_cells(False)  # the course's setting, as nbgrader_config.py leaves it


def test_does_stderr_output_keep_a_passing_test_cells_points(kit_rule):
    assert utils.determine_grade(_test_cell(OUT, ERR, OUT)) == (2, 2)
    assert not utils.has_failed(_test_cell(ERR))


def test_does_an_error_still_zero_a_cell_that_also_wrote_to_stderr(kit_rule):
    assert utils.determine_grade(_test_cell(ERR, ERROR)) == (0, 2)
    assert utils.has_failed(_test_cell(ERR, ERROR))


def test_is_partial_credit_still_read_after_stderr(kit_rule):
    result = new_output("execute_result", data={"text/plain": "1.5"}, execution_count=1)
    assert utils.determine_grade(_test_cell(ERR, result)) == (1.5, 2)


def test_is_the_students_stderr_left_in_the_cell(kit_rule):
    cell = _test_cell(ERR)
    utils.determine_grade(cell)
    assert cell.outputs == [ERR]


def test_does_true_restore_nbgraders_rule(kit_rule):
    stderr.stderr_fails_cells(True)
    assert utils.determine_grade(_test_cell(ERR)) == (0, 2)
    assert utils.has_failed(_test_cell(ERR))


@pytest.mark.slow
@pytest.mark.parametrize("fails, failed", [(False, 1), (True, 2)])
def test_does_nbgrader_validate_follow_the_configured_rule(tmp_path, fails, failed):
    cells = [_test_cell(), _test_cell()]
    cells[0].source = "import sys\nprint('progress', file=sys.stderr)\nassert 1 + 1 == 2"
    cells[1].source = "assert 1 + 1 == 3, 'wrong sum'"
    cells[1].metadata.nbgrader["grade_id"] = "u"
    nbformat.write(new_notebook(cells=cells), tmp_path / "hw.ipynb")
    (tmp_path / "nbgrader_config.py").write_text(textwrap.dedent(f"""\
        from usefuns.stderr import stderr_fails_cells
        stderr_fails_cells({fails})
        """))
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "validate", "hw.ipynb"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert f"VALIDATION FAILED ON {failed} CELL(S)" in proc.stdout, proc.stdout + proc.stderr
    assert "wrong sum" in proc.stdout
