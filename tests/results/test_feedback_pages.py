"""Feedback pages read well offline: readable errors, verdicts, MathML, nothing remote.

Fast: notebooks are built with small factories and rendered with the feedback exporter and
template directly (no grading); ``test_feedback`` checks real graded pages end to end.
"""
import re

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from coursekit.results import errors
from coursekit.results.feedbackhtml import (TEMPLATE_NAME, FeedbackExporter, latex_output_html,
                                            tex_to_html, verdict)
from coursekit.results.hidden_tests import HideHiddenTests

# As IPython 9 stores them: colours, one string per frame.
STUB_TRACEBACK = [
    "\x1b[31m---------------------------------------------------------------------------\x1b[39m",
    "\x1b[31mNotImplementedError\x1b[39m                       Traceback (most recent call last)",
    "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[4]\x1b[39m\x1b[32m, line 2\x1b[39m\n"
    "\x1b[32m      1\x1b[39m \x1b[38;5;66;03m# Test: your scores\x1b[39;00m\n"
    "\x1b[32m----> \x1b[39m\x1b[32m2\x1b[39m scores, hidden = nn_forward_pass(params, toy_X)\n",
    "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[3]\x1b[39m\x1b[32m, line 3\x1b[39m, in "
    "\x1b[36mnn_forward_pass\x1b[39m\x1b[34m(params, X)\x1b[39m\n"
    "\x1b[32m      2\x1b[39m     # YOUR_TURN: write your code here, then delete the line below\n"
    "\x1b[32m----> \x1b[39m\x1b[32m3\x1b[39m     \x1b[38;5;28;01mraise\x1b[39;00m "
    "\x1b[38;5;167;01mNotImplementedError\x1b[39;00m()\n",
    "\x1b[31mNotImplementedError\x1b[39m: ",
]
ANSWER_STUB = ('def nn_forward_pass(params, X):\n'
               '    # YOUR_TURN: write your code here, then delete the line below\n'
               '    raise NotImplementedError()')
ANSWER_BUG = ('def nn_forward_pass(params, X):\n'
              '    W1 = params["W1"]\n'
              '    scores = X @ W1.T\n'
              '    return scores, scores')
BUG_TRACEBACK = [
    "---------------------------------------------------------------------------",
    "RuntimeError                              Traceback (most recent call last)",
    "Cell In[4], line 2\n      1 # Test: your scores\n----> 2 scores, hidden = "
    "nn_forward_pass(params, toy_X)\n",
    "Cell In[3], line 3, in nn_forward_pass(params, X)\n      2     W1 = params[\"W1\"]\n"
    "----> 3     scores = X @ W1.T\n      4     return scores, scores\n",
    "File ~/torch/functional.py:12, in matmul(a, b)\n---> 12 return _C.matmul(a, b)\n",
    "RuntimeError: mat1 and mat2 shapes cannot be multiplied (5x4 and 10x4)",
]


def _answer(source, count=3):
    cell = new_code_cell(source, execution_count=count)
    cell.metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False,
                                 "grade_id": "nn_forward_pass", "schema_version": 3}
    return cell


def _test(outputs, grade_id="forward_toy", score=0.0, points=2.0, count=4):
    cell = new_code_cell("# Test: your scores\nscores, hidden = nn_forward_pass(params, toy_X)",
                         execution_count=count, outputs=list(outputs))
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                 "grade_id": grade_id, "points": points, "score": score,
                                 "schema_version": 3}
    return cell


def _error(traceback, ename, evalue=""):
    return new_output("error", ename=ename, evalue=evalue, traceback=traceback)


def test_are_tracebacks_read_back_into_cell_frames():
    frames = errors.frames(STUB_TRACEBACK)
    assert frames == [errors.Frame(4, 2, None, "scores, hidden = nn_forward_pass(params, toy_X)"),
                      errors.Frame(3, 3, "nn_forward_pass", "    raise NotImplementedError()")]


def test_does_an_unanswered_stub_read_not_answered_yet():
    nb = new_notebook(cells=[_answer(ANSWER_STUB), _test([])])
    lines = errors.readable_error(_error(STUB_TRACEBACK, "NotImplementedError"),
                                  errors.student_cells(nb))
    assert lines == ["not answered yet: nn_forward_pass (its # YOUR_TURN stub still raises "
                     "NotImplementedError)"]


def test_does_a_hidden_check_reporting_a_stub_read_not_answered_yet_too():
    output = _error(["AssertionError: ..."], "AssertionError",
                    "nn_predict raised NotImplementedError: the answer is still the stub")
    assert errors.readable_error(output, {})[0].startswith("not answered yet: nn_predict")


def test_does_a_failed_test_name_the_students_line_and_not_library_frames():
    nb = new_notebook(cells=[_answer(ANSWER_BUG), _test([])])
    output = _error(BUG_TRACEBACK, "RuntimeError",
                    "mat1 and mat2 shapes cannot be multiplied (5x4 and 10x4)")
    lines = errors.readable_error(output, errors.student_cells(nb))
    assert lines == ["RuntimeError: mat1 and mat2 shapes cannot be multiplied (5x4 and 10x4)",
                     "in your code: nn_forward_pass, line 3: scores = X @ W1.T"]


def test_is_a_line_that_is_not_in_the_students_cell_never_quoted():
    # same traceback, but the student's cell In[3] now holds other code (a rerun, a restart)
    nb = new_notebook(cells=[_answer(ANSWER_STUB), _test([])])
    output = _error(BUG_TRACEBACK, "RuntimeError", "shapes")
    assert errors.student_line(output, errors.student_cells(nb)) is None
    # and a test cell's own frame is never "your code"
    assert errors.student_cells(new_notebook(cells=[_test([])])) == {}


def test_does_the_preprocessor_put_the_readable_lines_in_the_test_output():
    nb = new_notebook(cells=[_answer(ANSWER_BUG),
                             _test([_error(BUG_TRACEBACK, "RuntimeError", "shapes differ")])])
    nb, _ = HideHiddenTests().preprocess(nb, {})
    assert nb.cells[1].outputs[0].traceback == [
        "RuntimeError: shapes differ", "in your code: nn_forward_pass, line 3: scores = X @ W1.T"]


@pytest.mark.parametrize("score, points, pending, expected", [
    (2.0, 2.0, False, "full"), (3.2, 4.0, False, "partial"), (0.0, 2.0, False, "none"),
    (0.0, 2.0, True, "ungraded"), (None, 1.0, False, "none")])
def test_is_each_cells_verdict_what_its_score_says(score, points, pending, expected):
    assert verdict(score, points, pending) == expected


def test_does_tex_become_mathml_and_unknown_tex_stay_readable():
    assert tex_to_html(r"x \in \mathbb{R}^D").startswith("<math")
    assert 'display="block"' in tex_to_html(r"\frac{1}{N}", display=True)
    assert "\u211d" in tex_to_html(r"\mathbb{R}") or "&#x0211D;" in tex_to_html(r"\mathbb{R}")
    assert tex_to_html(r"\frac{1}{") == '<code class="tex">\\frac{1}{</code>'
    assert tex_to_html("a < b{") == '<code class="tex">a &lt; b{</code>'
    assert latex_output_html("$$a^2$$").startswith("<math")


def _render(nb):
    exporter = FeedbackExporter(template_name=TEMPLATE_NAME)
    resources = {"nbgrader": {"notebook": "two_layer_net", "score": 3.2, "max_score": 6.0,
                              "late_penalty": 0}}
    page, _ = exporter.from_notebook_node(nb, resources=resources)
    return page


def test_is_a_rendered_page_self_contained_with_maths_verdicts_and_wrapping():
    hint = ("does your max shift replace the scores instead of subtracting the row maximum? "
            * 3)
    nb = new_notebook(cells=[
        new_markdown_cell(r"The loss $L = \frac{1}{N}\sum_i -\log p_{i y_i}$ and $$h = "
                          r"\max(0, z)$$"),
        _answer(ANSWER_STUB),
        _test([_error(["AssertionError: " + hint], "AssertionError", hint)], score=0.0),
        _test([], grade_id="model_accuracy", score=3.2, points=4.0)])
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.metadata.nbgrader["verdict"] = verdict(cell.metadata.nbgrader["score"],
                                                        cell.metadata.nbgrader["points"])
    page = _render(nb)
    assert page.count("<math") == 2 and "$L =" not in page
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "a remote file"
    assert "partial credit" in page and "no points" in page
    assert "white-space: pre-wrap" in page
    assert hint.strip() in page
