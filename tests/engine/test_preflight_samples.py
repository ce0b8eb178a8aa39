"""Preflight on the real notebook: every sample an editor or a student edited comes back as the
release's cells, in order, each submitted cell once (fast: no nbgrader run; the end-to-end
tests grade the same samples)."""
import json
import shutil

import pytest

from conftest import ASSIGNMENT, ROOT, SAMPLES
from coursekit.engine.preflight import prepare
from coursekit.engine.preflight.matching import nbgrader_meta, source_text
from coursekit.term import samples

RELEASE = ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
EDITED = [name for name in samples.list_samples(SAMPLES)
          if samples.load_expected(SAMPLES, name).get("notebook_edits")
          and samples.load_expected(SAMPLES, name).get("expected_status") == "graded"
          and not any(e["op"] == "clear_cells"
                      for e in samples.load_expected(SAMPLES, name)["notebook_edits"])]
EDITORS = [name for name in EDITED if name.startswith(("editor_", "nbformat_4"))]
RUN_NOTES = ("output cut",)  # notes made while the notebook runs (outputcap), not by preflight


def _prepared(tmp_path, name):
    (tmp_path / "release" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(RELEASE, tmp_path / "release" / ASSIGNMENT)
    path = samples.write_submission(tmp_path, ASSIGNMENT, SAMPLES, name)
    submitted = json.loads(path.read_text())
    result = prepare(path.parent, ASSIGNMENT, RELEASE, student_files=["best_model.pt"])
    return submitted, result, json.loads(path.read_text())


def _grade_ids(nb):
    return [nbgrader_meta(c).get("grade_id") for c in nb["cells"]
            if nbgrader_meta(c).get("grade_id")]


def test_are_there_editor_samples_for_every_editor():
    from coursekit.term.editors import EDITORS as KNOWN

    used = {e["name"] for name in EDITORS for e in samples.load_expected(SAMPLES, name)[
        "notebook_edits"] if e["op"] == "editor"}
    assert used == set(KNOWN)


@pytest.mark.parametrize("name", EDITED)
def test_does_an_edited_sample_come_back_as_the_release_in_order(tmp_path, name):
    _, result, nb = _prepared(tmp_path, name)
    release = json.loads(RELEASE.read_text())
    assert result["gradable"], result
    assert _grade_ids(nb) == _grade_ids(release)
    for phrase in samples.load_expected(SAMPLES, name).get("expected_notes", []):
        if not phrase.startswith(RUN_NOTES):
            assert any(phrase in note for note in result["notes"]), (phrase, result["notes"])


@pytest.mark.parametrize("name", EDITORS)
def test_is_every_cell_of_an_editor_sample_kept_once_and_nothing_put_back(tmp_path, name):
    submitted, result, nb = _prepared(tmp_path, name)
    assert sorted(source_text(c) for c in nb["cells"]) == sorted(
        source_text(c) for c in submitted["cells"])
    assert not any("deleted" in note or "edited" in note for note in result["notes"])
