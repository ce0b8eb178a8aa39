"""The committed release is what nbgrader makes from source, and it gives nothing away."""
import json
import re

import nbformat
import pytest

from conftest import ASSIGNMENT, ROOT
from coursekit.cli import release
from coursekit.course import copy_course

RELEASED = ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
SOURCE = ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
GROUPS = ("forward", "loss", "grads", "train", "predict", "search", "model", "written")


def _normalised(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        cell.pop("execution_count", None)
    return nb


@pytest.mark.slow
def test_is_the_committed_release_what_generate_assignment_makes(tmp_path):
    course = copy_course(ROOT, tmp_path / "course")
    fresh = release(course) / f"{ASSIGNMENT}.ipynb"
    assert _normalised(fresh) == _normalised(RELEASED), (
        "release/ is stale: run `make release` (coursekit release) and commit it")
    assert sorted(p.name for p in fresh.parent.iterdir()) == sorted(
        p.name for p in RELEASED.parent.iterdir())


def _solution_lines(nb):
    """Lines only found inside solution or hidden-test regions of the source."""
    inside_lines, outside_lines = [], set()
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if "### BEGIN SOLUTION" in line or "### BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "### END SOLUTION" in line or "### END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 12:
                inside_lines.append(line.strip())
            else:
                outside_lines.add(line.strip())
    return [line for line in inside_lines if line not in outside_lines]


def test_does_the_release_hold_no_solution_or_hidden_test_code():
    source = nbformat.read(SOURCE, as_version=4)
    released = RELEASED.read_text()
    solutions = _solution_lines(source)
    assert len(solutions) > 30, "the source should hold solutions and hidden tests"
    leaked = [line for line in solutions if line in released]
    assert not leaked, f"solution or hidden-test lines in the release: {leaked[:5]}"
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "load_checks", "assignments/"):
        assert marker not in released


def test_does_every_answer_cell_keep_its_signature_and_get_the_stub():
    nb = nbformat.read(RELEASED, as_version=4)
    answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")
               and c.cell_type == "code"]
    names = [re.search(r"^def (\w+)\(", c.source, re.M).group(1) for c in answers]
    assert names == ["nn_forward_pass", "nn_forward_backward", "nn_train", "nn_predict",
                     "nn_get_search_params", "find_best_net"]
    for cell in answers:
        assert "# YOUR_TURN" in cell.source and "raise NotImplementedError()" in cell.source
        assert '"""' in cell.source, "the docstring must stay outside the solution"


def test_does_every_test_cell_name_its_skill_group_and_carry_points():
    nb = nbformat.read(SOURCE, as_version=4)
    graded = [c.metadata["nbgrader"] for c in nb.cells
              if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(graded) >= 15
    for meta in graded:
        assert meta["grade_id"].split("_")[0] in GROUPS, meta["grade_id"]
        assert meta["points"] > 0
    assert {m["grade_id"].split("_")[0] for m in graded} == set(GROUPS)


def test_does_release_refuse_a_stray_checkpoint_in_source(tmp_path):
    course = copy_course(ROOT, tmp_path / "course")
    (course / "source" / ASSIGNMENT / "best_model.pt").write_bytes(b"x")
    with pytest.raises(ValueError, match="copy it to every student"):
        release(course)
