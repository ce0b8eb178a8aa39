"""The verify stage (coursekit.engine.verify) on the real assignment's checks and samples: the
grader scores each cell outside the kernel, in a sandboxed child where bwrap works."""
import json
import os

import nbformat
import pytest

from conftest import ASSIGNMENT, ROOT, SAMPLES
from coursekit.course.manifest import load_manifest
from coursekit.engine.verify.answers import read_instructor, student_cells
from coursekit.engine.verify.code import StudentCode
from coursekit.engine.verify.remote import Child
from coursekit.engine.verify.runner import verify_cells
from coursekit.isolation import sandbox
from coursekit.isolation.settings import SandboxLimits
from coursekit.term.samples import fill_notebook, sample_contents

SOURCE = json.loads((ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
RELEASE = ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
MANIFEST = load_manifest(ROOT, ASSIGNMENT)
INSTRUCTOR = read_instructor(SOURCE)
POINTS = {g: 2.0 for g, spec in MANIFEST.cells.items() if spec.graded_outside}
POINTS["model_accuracy"] = 4.0
USABLE = sandbox.check()[0]


def verdicts(tmp_path, name, extra=None, added=(), points=POINTS, command=None):
    """Every graded cell of sample ``name`` (its answers ``extra``-ed, cells ``added``)."""
    answers, files = sample_contents(SAMPLES, name)
    answers.update(extra or {})
    nb = json.loads(nbformat.writes(fill_notebook(nbformat.read(RELEASE, as_version=4),
                                                  answers)))
    nb["cells"] += [nbformat.v4.new_code_cell(source) for source in added]
    submission = tmp_path / "submitted" / name / ASSIGNMENT
    submission.mkdir(parents=True, exist_ok=True)
    for file_name, path in files.items():
        (submission / file_name).write_bytes(path.read_bytes())
    cells = student_cells(SOURCE, nb)
    limits = SandboxLimits(memory=3 * 1024 ** 3)
    argv, start = sandbox.child_command(tmp_path, ASSIGNMENT, name, limits, USABLE)

    def child():
        return Child(command or argv, start, INSTRUCTOR.setup, cells, "cpu")

    return verify_cells(MANIFEST, INSTRUCTOR, StudentCode(cells), submission, points, child,
                        "cpu")


def outcomes(found):
    return {g: v.outcome for g, v in found.items()}


def test_is_a_correct_submission_confirmed_in_every_cell(tmp_path):
    found = verdicts(tmp_path, "correct_compact")
    assert outcomes(found) == {g: "passed" for g in POINTS}, {
        g: v.message for g, v in found.items() if v.outcome != "passed"}
    assert "validation accuracy" in found["model_accuracy"].output


def test_does_each_wrong_answer_fail_its_cells_with_the_checks_message(tmp_path):
    found = verdicts(tmp_path, "missing_N")
    failed = {g for g, v in found.items() if v.outcome == "failed"}
    assert failed == {"loss_toy", "loss_hidden", "loss_stability", "grads_hidden"}
    assert "N times too large" in found["loss_hidden"].message


def test_does_a_colab_import_cell_cost_nothing(tmp_path):
    found = verdicts(tmp_path, "correct_compact",
                     added=["import google.colab\nfrom google.colab import drive\n"])
    assert set(outcomes(found).values()) == {"passed"}


def test_does_an_import_only_the_kernel_has_cost_only_the_functions_that_need_it(tmp_path):
    forward = ("def nn_forward_pass(params, X):\n    import only_in_the_kernel\n"
               "    return only_in_the_kernel.forward(params, X)\n")
    found = verdicts(tmp_path, "correct_compact", {"nn_forward_pass": forward})
    assert found["forward_hidden"].outcome == "failed"
    assert "ModuleNotFoundError" in found["forward_hidden"].message
    assert found["train_hidden"].outcome == found["search_select"].outcome == "passed"


def test_is_a_name_missing_outside_the_notebook_a_wrong_answer_not_a_review(tmp_path):
    forward = ("def nn_forward_pass(params, X):\n    get_ipython()\n"
               "    h = (X @ params['W1'] + params['b1']).clamp(min=0)\n"
               "    return h @ params['W2'] + params['b2'], h\n")
    found = verdicts(tmp_path, "correct_compact", {"nn_forward_pass": forward})
    assert found["forward_hidden"].outcome == "failed"
    assert "'get_ipython', which is not defined outside the notebook" in \
        found["forward_hidden"].message


def test_is_a_value_the_check_cannot_compare_a_wrong_answer(tmp_path):
    forward = ("def nn_forward_pass(params, X):\n"
               "    h = (X @ params['W1'] + params['b1']).clamp(min=0)\n"
               "    return (h @ params['W2'] + params['b2']).to_sparse(), h\n")
    found = verdicts(tmp_path, "correct_compact", {"nn_forward_pass": forward})
    assert found["forward_hidden"].outcome == "failed"  # the check names what it got
    assert "got a sparse_coo tensor" in found["forward_hidden"].message
    # the visible test raises on it (AttributeError): the cell fails, saying why
    assert found["forward_toy"].outcome == "failed", found["forward_toy"]
    assert "nn_forward_pass returned a sparse" in found["forward_toy"].message
    assert "cannot compare" in found["forward_toy"].message


def test_does_a_function_that_ends_its_process_cost_only_its_own_cells(tmp_path):
    crash = "def nn_get_search_params():\n    import os\n    os._exit(3)\n"
    found = verdicts(tmp_path, "correct_compact", {"nn_get_search_params": crash})
    assert found["search_budget"].outcome == found["search_params"].outcome == "failed"
    assert found["predict_hidden"].outcome == found["forward_hidden"].outcome == "passed"


@pytest.mark.parametrize("name, cell, phrase", [
    ("sgd_rebinds", "train_hidden", "caller's params"),
    ("sgd_uphill", "train_hidden", "steps uphill"),
    ("search_picks_train_acc", "search_select", "best training accuracy"),
    ("autograd", "grads_backprop", "uses autograd"),
    ("loop_over_samples", "grads_backprop", "loops over the samples"),
])
def test_are_mistakes_that_watch_the_code_run_caught_outside_the_kernel(tmp_path, name, cell,
                                                                        phrase):
    found = verdicts(tmp_path, name)
    assert found[cell].outcome == "failed" and phrase in found[cell].message, found[cell]
    assert {g for g, v in found.items() if v.outcome == "failed"} <= {cell, "train_step"}


def test_is_a_grader_that_cannot_start_its_child_withheld_not_failed(tmp_path):
    found = verdicts(tmp_path, "correct_compact", command=["/nonexistent/python"])
    assert found["forward_hidden"].outcome == "withheld"
    assert "could not start" in found["forward_hidden"].message
    assert found["model_accuracy"].outcome == "passed"  # needs no student code


def test_is_a_cell_the_manifest_does_not_know_withheld(tmp_path):
    found = verdicts(tmp_path, "correct_compact", points={"mystery": 1.0})
    assert found["mystery"].outcome == "withheld" and "manifest" in found["mystery"].message


def test_do_student_cells_include_added_cells_but_not_the_instructors():
    nb = json.loads(json.dumps(SOURCE))
    nb["cells"].append(nbformat.v4.new_code_cell("def helper():\n    return 1\n"))
    labels = [label for label, _ in student_cells(SOURCE, nb)]
    assert labels[-1].startswith("added cell") and sum(
        label.startswith("answer cell") for label in labels) == 6
    assert INSTRUCTOR.constants == {"MAX_COMBINATIONS": 48, "SEARCH_ITERS": 1000}
    assert any("get_toy_data" in s for s in INSTRUCTOR.setup)


def test_does_every_cell_pass_its_control_with_the_reference(tmp_path):
    # the control that tells a broken check from a student's odd values must pass everywhere
    from coursekit.engine.verify.runner import _Cells

    _, files = sample_contents(SAMPLES, "correct_compact")
    submission = tmp_path / "submitted" / "control" / ASSIGNMENT
    submission.mkdir(parents=True)
    for file_name, path in files.items():
        (submission / file_name).write_bytes(path.read_bytes())

    def no_child():
        raise AssertionError("a control must not run student code")

    cells = _Cells(MANIFEST, INSTRUCTOR, StudentCode([]), submission, no_child, "cpu")
    for grade_id in POINTS:
        value, _ = cells.run(MANIFEST.cells[grade_id], control=True)
        if MANIFEST.cells[grade_id].returns_score:
            assert value == pytest.approx(POINTS[grade_id]), grade_id


ODD_VALUES = {
    # rebinds an input to a tensor whose dtype the check cannot read
    "nn_forward_pass": ("def nn_forward_pass(params, X):\n"
                        "    params['W1'] = torch.empty(tuple(params['W1'].shape), "
                        "dtype=torch.bits8)\n    return None\n"),
    # a number where a list belongs
    "nn_get_search_params": ("def nn_get_search_params():\n"
                             "    return [1e-3, 1e-2], 5, [0.0, 0.1], [0.9, 1.0]\n"),
}


def test_do_values_that_break_a_check_fail_the_cell_not_withhold_it(tmp_path):
    found = verdicts(tmp_path, "correct_compact", ODD_VALUES)
    for cell in ("forward_hidden", "search_budget"):
        assert found[cell].outcome == "failed", (cell, found[cell])
    assert "changed its input W1" in found["forward_hidden"].message  # bits8 never crosses
    assert "the test runs with correct functions" in found["search_budget"].message
    assert "withheld" not in outcomes(found).values(), {
        g: v.message for g, v in found.items() if v.outcome == "withheld"}
