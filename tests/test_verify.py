"""Out-of-kernel verification (coursekit.engine.verify) on the real assignment's checks and samples."""
import json

import nbformat
import pytest

from conftest import ASSIGNMENT, ROOT, SAMPLES
from coursekit.isolation import sandbox
from coursekit.engine import verify
from coursekit.term.samples import fill_notebook, sample_contents
from coursekit.isolation.child import keep_definitions

SOURCE = ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE = ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
HIDDEN = ROOT / "assignments" / ASSIGNMENT
CELLS = ["forward_hidden", "loss_hidden", "grads_hidden", "predict_toy", "predict_hidden",
         "search_budget", "train_step", "train_hidden"]


def test_does_the_child_keep_only_definitions_and_assignments():
    code = keep_definitions("import torch\n%matplotlib inline\nEPS = 1e-3\nX = f()\n"
                            "for i in range(9):\n    print(i)\ntrain()\n"
                            "def g(x):\n    return x + EPS\n")
    assert "import torch" in code and "def g" in code and "EPS = 0.001" in code
    assert "print" not in code and "train()" not in code and "matplotlib" not in code
    assert "X = f()" in code  # kept, but inside try: a failing one is skipped
    assert keep_definitions("def broken(:\n") == ""


def _verdicts(tmp_path, name, extra=None, kernel=2.0):
    answers, _ = sample_contents(SAMPLES, name)
    answers.update(extra or {})
    nb = fill_notebook(nbformat.read(RELEASE, as_version=4), answers)
    graded = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, graded)
    settings = sandbox.limits_from_config(None)
    usable = sandbox.check()[0]
    (tmp_path / "submitted" / name / ASSIGNMENT).mkdir(parents=True, exist_ok=True)
    command = sandbox.verify_command(tmp_path, ASSIGNMENT, name, settings, usable)
    scores = {grade_id: (kernel, kernel) for grade_id in CELLS}
    return verify.verify_submission(HIDDEN, SOURCE, graded, tmp_path / "submitted" / name,
                                    scores, command)


def test_is_a_correct_submission_verified_in_full(tmp_path):
    verdicts = _verdicts(tmp_path, "correct_compact")
    assert {g: v["verified"] for g, v in verdicts.items()} == {g: 2.0 for g in CELLS}
    assert verify.lowered(verdicts) == {}


def test_does_a_kernel_that_overrates_a_wrong_answer_get_lowered(tmp_path):
    verdicts = _verdicts(tmp_path, "missing_N")
    changes = verify.lowered(verdicts)
    assert set(changes) == {"loss_hidden", "grads_hidden"}
    assert "N times too large" in changes["loss_hidden"][1]
    assert changes["loss_hidden"][0] == 0.0


def test_does_a_function_that_ends_its_process_cost_only_its_own_cells(tmp_path):
    crash = ("def nn_get_search_params():\n    import os\n    os._exit(3)\n")
    verdicts = _verdicts(tmp_path, "correct_compact", {"nn_get_search_params": crash})
    assert verdicts["search_budget"]["verified"] == 0.0
    # the process is started again for the cells after it
    assert verdicts["predict_hidden"]["verified"] == 2.0
    assert verdicts["forward_hidden"]["verified"] == 2.0


def test_does_a_grader_function_reach_the_students_code_as_a_callback(tmp_path):
    """check_predict hands the reference loss function to nn_predict: it runs in the grader."""
    verdicts = _verdicts(tmp_path, "correct_compact")
    assert verdicts["predict_hidden"]["verified"] == 2.0, verdicts["predict_hidden"]


def test_does_verification_read_only_its_config(tmp_path):
    assert verify.verify_submission(tmp_path, SOURCE, SOURCE, tmp_path, {"x": (1, 1)},
                                    ["false"]) == {}
    config = json.dumps(sorted(verify._load_module(HIDDEN / "verification.py", "v").CELLS))
    assert "model_accuracy" in config and "grads_backprop" not in config


def test_does_the_static_scan_list_reaching_for_the_grader_but_not_honest_answers():
    from coursekit.engine.scan import scan

    honest, _ = sample_contents(SAMPLES, "correct_report_style")
    assert scan(list(honest.values())) == []
    hits = scan(["def f(x):\n    import sys\n    sys.modules['a'] = None\n    return x\n",
                 "def g(x):\n    torch.allclose = lambda *a: True\n    return x\n"])
    assert any("import sys" in h for h in hits) and any(".modules" in h for h in hits)
    assert any("answer cell 2: assigns to a library attribute" in h for h in hits)


@pytest.mark.parametrize("name", ["correct_sgd_reassigns", "correct_report_style"])
def test_is_training_verified_with_in_place_updates_mirrored(tmp_path, name):
    """nn_train updates its caller's tensors in the child; the grader's tensors follow."""
    verdicts = _verdicts(tmp_path, name)
    assert verdicts["train_hidden"]["verified"] == 2.0, verdicts["train_hidden"]
    assert verdicts["train_step"]["verified"] == 2.0, verdicts["train_step"]


@pytest.mark.parametrize("name, phrase", [("sgd_rebinds", "caller's params"),
                                          ("sgd_uphill", "steps uphill")])
def test_does_verification_catch_training_mistakes_like_the_kernel(tmp_path, name, phrase):
    verdicts = _verdicts(tmp_path, name)
    assert verdicts["train_hidden"]["verified"] == 0.0
    assert phrase in verdicts["train_hidden"]["message"], verdicts["train_hidden"]
