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
    assert result["gradable"] and f"deleted graded or read-only cell: {grade_id}" in _notes(
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


def test_is_a_renamed_test_cell_recognised_by_its_content(course):
    _submit(course[1], [{"op": "set_metadata", "grade_id": "test_a", "key": "grade_id",
                         "value": "mine"}])
    result, nb = _run(course)
    assert "unknown nbgrader id 'mine' is the release's 'test_a'" in _notes(result)
    assert _ids(nb) == _ids(_release())


def test_is_a_renamed_and_rewritten_test_cell_a_plain_cell_and_the_test_put_back(course):
    _submit(course[1], [{"op": "set_metadata", "grade_id": "test_a", "key": "grade_id",
                         "value": "mine"}, {"op": "set_source", "grade_id": "mine",
                                            "source": "pass"}])
    result, nb = _run(course)
    assert "unknown nbgrader id 'mine' became a plain cell" in _notes(result)
    assert "deleted graded or read-only cell: test_a" in _notes(result)
    assert _ids(nb) == ["intro", "answer", None, "test_a", "part_b", "test_b", "written"]


def test_does_an_unexpected_error_become_a_reason_instead_of_raising(course):
    release, folder = course
    release.unlink()
    result = prepare(folder, "hw", release)
    assert not result["gradable"] and "grade this submission by hand" in result["reason"]


def _ran_in_vscode(folder):
    """What VS Code did to executed notebooks: code cells' and notebook metadata emptied."""
    _submit(folder, [{"op": "clear_cell_metadata", "cell_type": "code"},
                     {"op": "notebook_metadata", "value": {}}])


def test_are_cells_whose_metadata_an_editor_dropped_found_by_content(course):
    _ran_in_vscode(course[1])
    result, nb = _run(course)
    notes = _notes(result)
    assert result["gradable"] and _ids(nb) == _ids(_release())
    assert "3 cells had lost their nbgrader metadata" in notes and "answer, test_a, test_b" in notes
    assert "deleted" not in notes  # nothing was deleted, nothing runs twice
    assert nb["metadata"]["kernelspec"]["name"] == "python3" and "names no kernel" in notes


def test_is_an_answer_without_metadata_found_by_the_functions_it_defines(course):
    _submit(course[1], [{"op": "set_source", "grade_id": "answer",
                         "source": "import math\n\ndef f(x):\n    return 2 * x"},
                        {"op": "insert", "source": "def f(x):\n    return x", "at": "start"}])
    _ran_in_vscode(course[1])
    result, nb = _run(course)
    assert _ids(nb) == [None, "intro", "answer", "test_a", "part_b", "test_b", "written"]
    assert "return 2 * x" in nb["cells"][2]["source"]  # the one in the answer's place


def test_is_a_test_moved_above_its_answer_put_back_after_it(course):
    _submit(course[1], [{"op": "move", "grade_id": "test_a", "before": "answer"},
                        {"op": "insert", "source": "print(f(1))", "at": {"after": "test_a"}}])
    result, nb = _run(course)
    assert _ids(nb) == ["intro", "answer", "test_a", None, "part_b", "test_b", "written"]
    assert "out of the release's order" in _notes(result) and "deleted" not in _notes(result)


def test_are_written_answers_without_metadata_matched_by_their_place(course):
    _submit(course[1], [{"op": "set_source", "grade_id": "written", "source": "Because."}])
    _submit(course[1], [{"op": "clear_cell_metadata", "cell_type": "all"}])
    result, nb = _run(course)
    assert result["gradable"] and _ids(nb) == _ids(_release())
    assert nb["cells"][-1]["source"] == "Because."


def test_is_a_notebook_with_none_of_the_release_cells_not_gradable(course):
    _, folder = course
    nb = new_notebook(cells=[new_code_cell("print('my own work')"), new_markdown_cell("# Mine")])
    nbformat.write(nb, folder / NAME)
    result, _ = _run(course)
    assert not result["gradable"] and "copied into a new notebook" in result["reason"]


def test_is_a_split_answer_graded_on_the_half_that_defines_the_function(course):
    _submit(course[1], [{"op": "set_source", "grade_id": "answer",
                         "source": "import math\n\ndef f(x):\n    return 2 * x"},
                        {"op": "split", "grade_id": "answer", "at_text": "def f"}])
    result, nb = _run(course)
    assert _ids(nb) == ["intro", None, "answer", "test_a", "part_b", "test_b", "written"]
    assert nb["cells"][2]["source"].startswith("def f") and "appeared 2 times" in _notes(result)


@pytest.mark.parametrize("minor", [0, 4])
def test_is_an_older_nbformat_4_graded_without_ids_or_notes(course, minor):
    _submit(course[1], [{"op": "nbformat_minor", "minor": minor}])
    result, nb = _run(course)
    assert result == {"gradable": True, "notes": [], "reason": None}
    assert nb["nbformat_minor"] == minor and all("id" not in c for c in nb["cells"])


def test_does_a_colab_kernelspec_without_language_need_no_note(course):
    _submit(course[1], [{"op": "notebook_metadata", "value": {
        "colab": {"provenance": []}, "kernelspec": {"name": "python3", "display_name": "Python 3"},
        "language_info": {"name": "python"}, "accelerator": "GPU"}}])
    result, nb = _run(course)
    assert result["notes"] == [] and nb["metadata"]["kernelspec"]["language"] == "python"


def test_are_4_5_cells_without_ids_given_ids(course):
    _submit(course[1], [{"op": "drop_ids"}])
    result, nb = _run(course)
    assert result["notes"] == [] and len({c["id"] for c in nb["cells"]}) == len(nb["cells"])


def test_are_files_nbgrader_writes_never_extra(course):
    _, folder = course
    (folder / "submission_secret.txt").write_text("f" * 128)
    for rel in (".ipynb_checkpoints/hw-checkpoint.ipynb", "feedback/2026-11-26/hw.html",
                "__pycache__/helpers.cpython-311.pyc"):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text("x")
    (folder / "mine.txt").write_text("x")
    result, _ = _run(course)
    assert [n for n in result["notes"] if "extra" in n] == ["extra files (not graded): mine.txt"]
