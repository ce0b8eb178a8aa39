"""usefuns.selfcheck: the self-check names every cell that passed, failed or ran out of time.

Fast tests judge executed notebooks built by small factories; the slow ones run real
``nbgrader validate`` (and the Validate button's handler code) on a small notebook with a
correct, a wrong, a warning and a hanging answer, under the course's and the bundle's config.
"""
import json
import os
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from conftest import ASSIGNMENT, ROOT
from nbgrader.utils import compute_checksum
from usefuns import selfcheck

BIN = os.path.dirname(sys.executable)


def _grade(cell, grade_id, points=1, solution=False, locked=True):
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "locked": locked,
                                 "points": points, "schema_version": 3, "solution": solution,
                                 "task": False}
    return cell


def _solution(source, grade_id):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": grade_id, "locked": False,
                                 "schema_version": 3, "solution": True, "task": False}
    return cell


def _written(grade_id, answer="YOUR ANSWER HERE"):
    cell = _grade(new_markdown_cell("YOUR ANSWER HERE"), grade_id, 2, solution=True, locked=False)
    cell.metadata.nbgrader["checksum"] = compute_checksum(cell)
    cell.source = answer
    return cell


def _error(ename, evalue):
    return new_output("error", ename=ename, evalue=evalue,
                      traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


def _executed_notebook():
    """Cells as nbgrader leaves them after running, one of each kind the report names."""
    return new_notebook(cells=[
        _solution("def add(a, b):\n    return a + b", "add"),
        _grade(new_code_cell("assert add(1, 2) == 3"), "add_small"),
        _grade(new_code_cell("assert add(2, 2) == 5", outputs=[
            _error("AssertionError", "add(2, 2) should be 5")]), "add_wrong", 2),
        _grade(new_code_cell("import time\ntime.sleep(60)", outputs=[
            _error("KeyboardInterrupt", ""), _error("CellTimeoutError", "")]), "add_slow"),
        _grade(new_code_cell("# Hidden tests: other inputs."), "add_hidden", 3),
        _grade(new_code_cell("0.5", outputs=[new_output(
            "execute_result", data={"text/plain": "0.5"}, execution_count=1)]), "add_half", 2),
        new_code_cell("search()", outputs=[_error("CellTimeoutError", "")]),
        new_code_cell("plot()", outputs=[new_output("stream", name="stderr",
                                                    text="UserWarning: old\n")]),
        new_code_cell("check()", outputs=[
            new_output("stream", name="stdout", text="Self-check: the search was skipped\n"),
            _error("RuntimeError", "no best_model.pt")]),
        _written("written_blank"),
        _written("written_done", "Because the learning rate was too small."),
    ])


def test_does_the_report_give_each_cell_its_result():
    results = selfcheck.cell_results(_executed_notebook(), timeout=30)
    found = {entry["name"]: (entry["status"], entry["message"]) for entry in results}
    assert found["add_small"] == ("passed", "")
    assert found["add_wrong"] == ("failed", "AssertionError: add(2, 2) should be 5")
    assert found["add_slow"][0] == "timeout" and "30 s" in found["add_slow"][1]
    assert found["add_hidden"][0] == "hidden"
    assert found["add_half"] == ("partial", "0.5 of 2 points")
    assert found["cell 7 (search())"][0] == "timeout"
    assert found["cell 9 (check())"] == ("error", "RuntimeError: no best_model.pt")
    assert found["written_blank"] == ("unanswered", "no answer yet")
    assert found["written_done"][0] == "written"
    assert "add" not in found  # an answer cell that ran is no result of its own
    assert not any(name.startswith("cell 8") for name in found)  # a warning fails nothing


def test_are_ungraded_cells_left_out_without_validate_all():
    results = selfcheck.cell_results(_executed_notebook(), validate_all=False)
    assert all(not entry["name"].startswith("cell ") for entry in results)


def test_does_the_table_count_and_name_every_result_and_show_the_notes():
    nb = _executed_notebook()
    lines = selfcheck.format_table(selfcheck.cell_results(nb, timeout=30),
                                   selfcheck.self_check_notes(nb))
    assert lines[0].startswith("Self-check: 1 passed, 1 hidden (run when graded), 1 written")
    assert "1 failed" in lines[0] and "2 stopped by the time limit" in lines[0]
    assert any("TIME LIMIT" in line and "add_slow" in line for line in lines)
    assert any("FAILED" in line and "add_wrong" in line and "2 pt" in line for line in lines)
    assert lines[-1] == "  note: the search was skipped"


def _configured_validator(config_dir, env=None):
    """In a fresh process that imported nbgrader's apps and the Validate button's handler, load
    ``config_dir``'s nbgrader_config.py as they do; which Validator would they build?"""
    code = (
        "import os, sys, nbgrader.apps, nbgrader.apps.validateapp as app\n"
        "import nbgrader.server_extensions.validate_assignment.handlers as handler\n"
        "a = nbgrader.apps.NbGrader(); a.load_config_file()\n"
        "print(app.Validator.__name__, handler.Validator.__name__,"
        " a.config.Validator.validate_all)\n")
    return subprocess.run([sys.executable, "-c", code], cwd=config_dir, capture_output=True,
                          text=True, check=True, env=dict(os.environ, **(env or {}))
                          ).stdout.split()


def test_do_the_course_and_bundle_configs_put_the_listing_validator_in_place(tmp_path):
    from coursekit.term import bundle

    assert _configured_validator(ROOT) == ["ListingValidator", "ListingValidator", "True"]
    (tmp_path / "nbgrader_config.py").write_text(
        bundle.student_texts(ROOT, ASSIGNMENT)["nbgrader_config.py"])
    assert _configured_validator(tmp_path) == ["ListingValidator", "ListingValidator", "True"]


def test_does_installing_the_validator_leave_torch_unloaded():
    code = ("import sys; from usefuns import selfcheck; "
            "print(len(selfcheck.use_in_nbgrader()), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["2", "False"]  # both of nbgrader's Validator users; torch not imported


# ---------------------------------------------------------------- real nbgrader (slow)

def _small_assignment(folder):
    """A released-style notebook: one right, one wrong, one warning and one hanging answer."""
    nb = new_notebook(cells=[
        _solution("def add(a, b):\n    return a + b", "add"),
        _grade(new_code_cell("assert add(1, 2) == 3"), "add_small"),
        _grade(new_code_cell('assert add(2, 2) == 5, "add(2, 2) should be 5 here"'),
               "add_wrong", 2),
        _grade(new_code_cell('import warnings\nwarnings.warn("old API")\nassert add(0, 0) == 0'),
               "add_warns"),
        _grade(new_code_cell("import time\ntime.sleep(60)"), "add_hangs"),
        _grade(new_code_cell("# Hidden tests: other inputs."), "add_hidden", 3),
        new_code_cell('print("Self-check: a quick budget")\nimport time\ntime.sleep(60)'),
        _written("written_answer"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "small.ipynb")
    return folder / "small.ipynb"


def _course_config(folder):
    (folder / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    return {"COURSEKIT_CELL_TIMEOUT": "3"}


def _bundle_config(folder):
    from coursekit.term import bundle

    text = bundle.student_texts(ROOT, ASSIGNMENT)["nbgrader_config.py"]
    (folder / "nbgrader_config.py").write_text(text + "c.Execute.timeout = 3\n")
    return {}


@pytest.mark.slow
@pytest.mark.parametrize("write_config", [_course_config, _bundle_config])
def test_does_nbgrader_validate_name_passed_failed_and_stopped_cells(tmp_path, write_config):
    notebook = _small_assignment(tmp_path / "small")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
               **write_config(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(notebook)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout
    table = out.split("\n\n")[0]
    assert "1 passed" not in table and "2 passed" in table, out  # add_small, add_warns
    for label, name in [("passed", "add_small"), ("passed", "add_warns"),
                        ("FAILED", "add_wrong"), ("TIME LIMIT", "add_hangs"),
                        ("hidden", "add_hidden"), ("NO ANSWER", "written_answer"),
                        ("TIME LIMIT", "cell 7 (print(\"Self-check: a quick budget\"))")]:
        assert any(label in line and name in line for line in table.splitlines()), (name, out)
    assert "longer than 3 s (Execute.timeout)" in out
    assert "AssertionError: add(2, 2) should be 5 here" in out
    assert "note: a quick budget" in out
    assert "VALIDATION FAILED ON 4 CELL(S)" in out


@pytest.mark.slow
def test_does_the_validate_button_get_every_failure_named_with_a_summary(tmp_path):
    notebook = _small_assignment(tmp_path / "small")
    _bundle_config(tmp_path)
    code = (  # what ValidateAssignmentHandler.validate_notebook does, in the server's folder
        "import json, sys\n"
        "from nbgrader.server_extensions.validate_assignment import handlers\n"
        "config = handlers.ValidateAssignmentHandler.load_config(None)\n"
        "print(json.dumps(handlers.Validator(config=config).validate(sys.argv[1])))\n")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([sys.executable, "-c", code, str(notebook)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(proc.stdout.splitlines()[-1])
    failed = [entry["raw_error"].splitlines()[0] for entry in result["failed"]]
    assert [line.split(":")[0] for line in failed] == [
        "add_wrong", "add_hangs", "cell 7 (print(\"Self-check", "written_answer"]
    summary = result["failed"][0]["raw_error"]
    assert "Self-check: 2 passed" in summary and "add_small" in summary
    assert {entry["name"]: entry["status"] for entry in result["cells"]}["add_warns"] == "passed"
