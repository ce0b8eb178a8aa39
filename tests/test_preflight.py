"""Unit tests of coursekit.engine.preflight.prepare on small notebooks (no nbgrader run, fast)."""
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from coursekit.engine.preflight import prepare
from coursekit.term.samples import apply_edits

NAME = "hw.ipynb"


def _cell(factory, source, grade_id, **meta):
    nbgrader = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3,
                "solution": False, "task": False}
    nbgrader.update(meta)
    return factory(source, metadata={"nbgrader": nbgrader})


def _release():
    return new_notebook(
        metadata={"kernelspec": {"name": "python3", "language": "python",
                                 "display_name": "Python 3"},
                  "language_info": {"name": "python"}},
        cells=[_cell(new_markdown_cell, "# Homework", "intro", locked=True),
               _cell(new_code_cell, "def f(x):\n    raise NotImplementedError()", "answer",
                     solution=True),
               _cell(new_code_cell, "assert f(1) == 2", "test_a", grade=True, locked=True,
                     points=2, checksum="abc"),
               _cell(new_markdown_cell, "## Part B", "part_b", locked=True),
               _cell(new_code_cell, "assert f(2) == 4\nassert f(3) == 6", "test_b", grade=True,
                     locked=True, points=3, checksum="def"),
               _cell(new_markdown_cell, "YOUR ANSWER HERE", "written", grade=True,
                     solution=True, points=1)])


@pytest.fixture
def course(tmp_path):
    """(release notebook path, submission folder) with an unedited submission."""
    release = tmp_path / "release" / NAME
    release.parent.mkdir()
    nbformat.write(_release(), release)
    folder = tmp_path / "submitted"
    folder.mkdir()
    nbformat.write(_release(), folder / NAME)
    (folder / "timestamp.txt").write_text("2026-11-26 12:00:00.000000 UTC")
    (folder / "model.pt").write_bytes(b"weights")
    return release, folder


def _submit(folder, edits):
    nb = apply_edits(json.loads((folder / NAME).read_text()), edits)
    (folder / NAME).write_text(json.dumps(nb))


def _run(course, **options):
    release, folder = course
    result = prepare(folder, "hw", release, student_files=["model.pt"], **options)
    nb = json.loads((folder / NAME).read_text()) if result["gradable"] else None
    return result, nb


def _ids(nb):
    return [c["metadata"].get("nbgrader", {}).get("grade_id") for c in nb["cells"]]


def _notes(result):
    return " | ".join(result["notes"])


def test_does_a_clean_submission_pass_without_notes(course):
    result, nb = _run(course)
    assert result == {"gradable": True, "notes": [], "reason": None}
    assert _ids(nb) == _ids(_release())


def test_is_a_missing_notebook_not_gradable_with_the_files_found(course):
    _, folder = course
    (folder / NAME).rename(folder / "hw (1).ipynb")
    result, _ = _run(course)
    assert not result["gradable"]
    assert "no hw.ipynb" in result["reason"] and "hw (1).ipynb" in result["reason"]
    assert "rename it" in result["reason"] and "\n" not in result["reason"]


def test_is_a_notebook_that_is_not_json_not_gradable_with_the_error_position(course):
    _, folder = course
    (folder / NAME).write_text('{"cells": [\n  {"cell_type": "code",,}\n')
    result, _ = _run(course)
    assert not result["gradable"]
    assert "not valid JSON" in result["reason"] and "line 2" in result["reason"]


@pytest.mark.parametrize("text", ["[]", '{"nbformat": 4}', '{"nbformat": 99, "cells": []}'])
def test_is_json_that_is_no_notebook_not_gradable(course, text):
    _, folder = course
    (folder / NAME).write_text(text)
    result, _ = _run(course)
    assert not result["gradable"] and "not a Jupyter notebook" in result["reason"]


def test_is_an_nbformat_3_notebook_upgraded_and_graded(course):
    _submit(course[1], [{"op": "nbformat3"}])
    assert json.loads((course[1] / NAME).read_text())["nbformat"] == 3
    result, nb = _run(course)
    assert result["gradable"] and "nbformat 3" in _notes(result)
    assert nb["nbformat"] == 4 and _ids(nb) == _ids(_release())
    nbformat.validate(nbformat.from_dict(nb))


def test_is_an_empty_notebook_graded_as_the_blank_release_without_its_files(course):
    _submit(course[1], [{"op": "clear_cells"}])
    result, nb = _run(course)
    assert result["gradable"] and "empty notebook" in _notes(result)
    assert _ids(nb) == _ids(_release())
    assert not (course[1] / "model.pt").exists()  # an empty notebook scores 0


def test_are_duplicate_cell_ids_renamed(course):
    _submit(course[1], [{"op": "duplicate_cell_ids"}])
    result, nb = _run(course)
    assert result["gradable"] and "duplicate cell ids" in _notes(result)
    assert len({c["id"] for c in nb["cells"]}) == len(nb["cells"])


def test_is_a_split_test_cell_graded_once(course):
    _submit(course[1], [{"op": "split", "grade_id": "test_b", "second_source": "pass"}])
    result, nb = _run(course)
    assert result["gradable"] and "'test_b' appeared 2 times" in _notes(result)
    assert _ids(nb).count("test_b") == 1
    assert _ids(nb).index("test_b") == 4 and _ids(nb)[5] is None  # the first part is graded


def test_is_the_unedited_copy_of_a_duplicated_test_cell_graded(course):
    _submit(course[1], [{"op": "duplicate", "grade_id": "test_a", "source": "pass"},
                        {"op": "set_source", "grade_id": "test_a", "source": "pass"}])
    nb = json.loads((course[1] / NAME).read_text())
    nb["cells"][3]["source"] = "assert f(1) == 2"  # the copy after it is the original again
    (course[1] / NAME).write_text(json.dumps(nb))
    result, nb = _run(course)
    assert _ids(nb)[2:4] == [None, "test_a"]


@pytest.mark.parametrize("kind", ["text", "image"])
def test_are_huge_outputs_stripped_with_their_size_noted(course, kind):
    _submit(course[1], [{"op": "huge_output", "grade_id": "test_a", "megabytes": 3,
                         "kind": kind}])
    result, nb = _run(course)
    assert result["gradable"] and "MB of stored outputs" in _notes(result)
    assert (course[1] / NAME).stat().st_size < 100_000
    assert all(c.get("outputs", []) == [] for c in nb["cells"])


def test_is_another_kernel_replaced_by_the_release_kernel(course):
    _submit(course[1], [{"op": "kernelspec", "name": "ir", "language": "R"}])
    result, nb = _run(course)
    assert result["gradable"] and "'ir'" in _notes(result)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert nb["metadata"]["language_info"] == {"name": "python"}


def test_are_extra_big_and_missing_files_noted(course):
    _, folder = course
    (folder / "model.pt").unlink()
    (folder / "notes.txt").write_text("hi")
    (folder / "data").mkdir()
    (folder / "data" / "big.bin").write_bytes(b"0" * 5000)
    result, _ = _run(course, max_file_size=4000)
    notes = _notes(result)
    assert result["gradable"]
    assert "extra files (not graded): notes.txt" in notes
    assert "data/big.bin" in notes and not (folder / "data" / "big.bin").exists()
    assert "missing model.pt" in notes


@pytest.mark.parametrize("grade_id", ["test_a", "test_b", "intro", "written"])
def test_is_a_deleted_graded_or_locked_cell_put_back_in_its_place(course, grade_id):
    _submit(course[1], [{"op": "delete", "grade_id": grade_id}])
    result, nb = _run(course)
    assert result["gradable"] and f"deleted graded or read-only cells: {grade_id}" in _notes(
        result)
    assert _ids(nb) == _ids(_release())


def test_is_a_deleted_answer_cell_left_deleted(course):
    _submit(course[1], [{"op": "delete", "grade_id": "answer"}])
    result, nb = _run(course)
    assert "answer" not in _ids(nb) and result["notes"] == []


@pytest.mark.parametrize("edit, field", [
    ({"key": "points", "value": 20}, "points"),
    ({"key": "grade", "value": False}, "grade"),
    ({"key": "locked", "value": False}, "locked"),
    ({"key": "points", "value": None}, "points")])
def test_is_edited_test_cell_metadata_restored_from_the_release(course, edit, field):
    _submit(course[1], [dict(op="set_metadata", grade_id="test_b", **edit)])
    result, nb = _run(course)
    assert f"test_b ({field})" in _notes(result)
    assert nb["cells"][4]["metadata"]["nbgrader"] == _release().cells[4].metadata.nbgrader


def test_is_a_retyped_test_cell_a_code_cell_again(course):
    _submit(course[1], [{"op": "retype", "grade_id": "test_a", "cell_type": "markdown"}])
    result, nb = _run(course)
    assert "test_a (type markdown)" in _notes(result)
    assert nb["cells"][2]["cell_type"] == "code" and nb["cells"][2]["outputs"] == []
    nbformat.validate(nbformat.from_dict(nb))


def test_is_a_renamed_test_cell_a_plain_cell_and_the_test_put_back(course):
    _submit(course[1], [{"op": "set_metadata", "grade_id": "test_a", "key": "grade_id",
                         "value": "mine"}])
    result, nb = _run(course)
    assert "unknown nbgrader id 'mine'" in _notes(result)
    assert _ids(nb) == ["intro", "answer", "test_a", None, "part_b", "test_b", "written"]


def test_does_an_unexpected_error_become_a_reason_instead_of_raising(course):
    release, folder = course
    release.unlink()
    result = prepare(folder, "hw", release)
    assert not result["gradable"] and "grade this submission by hand" in result["reason"]
