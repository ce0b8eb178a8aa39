"""Do the sample edits (coursekit.term.edits) and editor saves (coursekit.term.editors) write
what they say, as notebooks nbformat accepts?"""
import json

import nbformat
import pytest

from conftest import ASSIGNMENT, ROOT
from coursekit.term.editors import EDITORS, save_as
from coursekit.term.edits import apply_edits

RELEASE = json.loads((ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())


def _ids(nb):
    return [c["metadata"].get("nbgrader", {}).get("grade_id") for c in nb["cells"]]


@pytest.mark.parametrize("editor", sorted(EDITORS))
def test_does_each_editor_save_a_valid_notebook(editor):
    nb = save_as(RELEASE, editor)
    nbformat.validate(nbformat.from_dict(json.loads(json.dumps(nb))))
    assert len(nb["cells"]) == len(RELEASE["cells"])
    assert ("id" in nb["cells"][0]) == (nb["nbformat_minor"] >= 5)


def test_does_vscode_empty_the_code_cells_and_the_notebook_metadata():
    nb = save_as(RELEASE, "vscode")
    assert nb["metadata"] == {}
    assert all(c["metadata"] == {} for c in nb["cells"] if c["cell_type"] == "code")
    assert all(c["metadata"] for c in nb["cells"] if c["cell_type"] == "markdown")


def test_does_colab_write_its_own_metadata_and_no_ids():
    nb = save_as(RELEASE, "colab")
    assert nb["nbformat_minor"] == 0 and "language" not in nb["metadata"]["kernelspec"]
    assert all(len(c["metadata"]["id"]) == 12 for c in nb["cells"])
    assert _ids(nb) == _ids(RELEASE)


def test_does_kaggle_write_each_source_as_one_string():
    nb = save_as(RELEASE, "kaggle")
    assert all(isinstance(c["source"], str) for c in nb["cells"])
    assert nb["nbformat_minor"] == 4 and "kaggle" in nb["metadata"]


def test_do_move_insert_and_duplicate_put_cells_where_they_say():
    nb = apply_edits(RELEASE, [
        {"op": "move", "grade_id": "forward_toy", "before": "nn_forward_pass"},
        {"op": "insert", "source": "print(1)", "at": {"after": "setup"}},
        {"op": "duplicate", "grade_id": "nn_predict", "to": "predict_hidden"}])
    ids = _ids(nb)
    assert ids.index("forward_toy") == ids.index("nn_forward_pass") - 1
    assert ids[ids.index("setup") + 1] is None and nb["cells"][2]["source"] == "print(1)"
    assert ids[ids.index("predict_hidden") + 1] == "nn_predict" and ids.count("nn_predict") == 2
    assert _ids(RELEASE).count("nn_predict") == 1  # the release itself is left alone


@pytest.mark.parametrize("edits, phrase", [
    ([{"op": "editor", "name": "emacs"}], "unknown editor 'emacs'"),
    ([{"op": "fold"}], "unknown notebook edit 'fold'"),
    ([{"op": "delete", "grade_id": "nope"}], "no cell has grade_id 'nope'"),
])
def test_does_a_wrong_edit_say_what_to_fix(edits, phrase):
    with pytest.raises(ValueError, match=phrase):
        apply_edits(RELEASE, edits)
