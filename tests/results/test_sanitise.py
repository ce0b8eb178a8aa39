"""Does every notebook render, whatever metadata its editor left in it?

Each case is metadata that made plain nbconvert fail in the wild (nbconvert's and ipywidgets'
issue trackers: widget state without ``state``, views of missing models, attachments lost by
copying a cell, ``language_info``/``kernelspec`` of ``null``). Each first proves that plain
nbconvert fails on it, then that the feedback exporter renders it.
"""
import copy

import nbformat
import pytest
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from coursekit.results.feedbackhtml import TEMPLATE_NAME, FeedbackExporter
from coursekit.results.sanitise import WIDGET_STATE, WIDGET_VIEW, sanitise


def _widget_view(model_id="8a3f0c2e", text="HBox(children=(FloatProgress(value=0.0),))"):
    data = {WIDGET_VIEW: {"model_id": model_id, "version_major": 2, "version_minor": 0}}
    if text is not None:
        data["text/plain"] = text
    return new_output("display_data", data=data)


def _base():
    return new_notebook(
        cells=[new_markdown_cell("# Answers\nThe loss is $L$."),
               new_code_cell("print('training')", execution_count=1,
                             outputs=[new_output("stream", name="stdout", text="training\n"),
                                      new_output("execute_result", execution_count=1,
                                                 data={"text/plain": "0.98"})])],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"},
                  "language_info": {"name": "python"}})


def widgets_without_state(nb):  # ipywidgets: "the 'state' key is missing from metadata.widgets"
    nb.metadata["widgets"] = {WIDGET_STATE: {"version_major": 2, "version_minor": 0}}


def widgets_without_state_entry(nb):
    nb.metadata["widgets"] = {}


def view_without_model_id(nb):
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": {}, "version_major": 2,
                                             "version_minor": 0}}
    output = _widget_view()
    del output.data[WIDGET_VIEW]["model_id"]
    nb.cells[1].outputs.append(output)


def attachment_lost_by_copying(nb):  # a pasted image's cell copied to another notebook
    nb.cells[0].source += "\n\n![my plot](attachment:loss.png)"


def language_info_null(nb):
    nb.metadata["language_info"] = None


def kernelspec_null(nb):
    nb.metadata["kernelspec"] = None


def tags_as_a_string(nb):
    nb.cells[1].metadata["tags"] = "hide-input"


def stream_without_name(nb):
    del nb.cells[1].outputs[0]["name"]


CASES = [widgets_without_state, widgets_without_state_entry, view_without_model_id,
         attachment_lost_by_copying, language_info_null, kernelspec_null, tags_as_a_string,
         stream_without_name]


def _render(nb):
    resources = {"nbgrader": {"notebook": "nb", "score": 0, "max_score": 1, "late_penalty": 0}}
    return FeedbackExporter(template_name=TEMPLATE_NAME).from_notebook_node(
        nb, resources=resources)[0]


@pytest.mark.parametrize("oddity", CASES, ids=[case.__name__ for case in CASES])
def test_does_plain_nbconvert_fail_and_the_feedback_exporter_render(oddity):
    nb = _base()
    oddity(nb)
    with pytest.raises(Exception):
        HTMLExporter().from_notebook_node(copy.deepcopy(nb))
    page = _render(nb)
    assert "training" in page and "<math" in page


def test_does_a_view_of_a_missing_model_keep_its_text_and_one_without_text_say_so():
    nb = _base()
    nb.cells[1].outputs += [_widget_view("gone"), _widget_view("gone too", text=None)]
    fixed, changes = sanitise(nb)
    texts = [o.data.get("text/plain") for o in fixed.cells[1].outputs[2:]]
    assert texts[0].startswith("HBox(") and "interactive widget" in texts[1]
    assert all(WIDGET_VIEW not in o.get("data", {}) for o in fixed.cells[1].outputs)
    assert any("widget view" in change for change in changes)


def test_does_sanitise_leave_a_clean_notebook_and_nbgrader_metadata_alone():
    nb = _base()
    nb.cells[1].metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 2,
                                        "solution": False, "locked": True,
                                        "schema_version": 3}
    fixed, changes = sanitise(nb)
    assert changes == []
    assert fixed == nbformat.from_dict(nb)


def test_is_a_lost_attachment_named_in_the_page():
    nb = _base()
    attachment_lost_by_copying(nb)
    assert "loss.png: missing from the submitted notebook" in _render(nb)
