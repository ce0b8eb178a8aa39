"""coursekit.hidden: what hidden test cells and the checks use, in the kernel and the grader."""
import pytest
import torch

from conftest import ASSIGNMENT, ROOT
from coursekit import course, hidden


def test_does_load_checks_load_each_module_once(monkeypatch):
    monkeypatch.setenv(course.ROOT_ENV, str(ROOT))
    first = hidden.load_checks(ASSIGNMENT)
    assert hidden.load_checks(ASSIGNMENT) is first
    assert hasattr(first, "check_forward")
    assert hasattr(first, "model_points") and hasattr(first, "check_find_best_net")


@pytest.mark.parametrize("module, error", [("no_such_module", FileNotFoundError),
                                           ("../reference", ValueError)])
def test_are_bad_module_names_refused(monkeypatch, module, error):
    monkeypatch.setenv(course.ROOT_ENV, str(ROOT))
    with pytest.raises(error):
        hidden.load_checks(ASSIGNMENT, module)




NAMESPACE = {}
exec("SCALE = 2\ndef scaled(x):\n    return x * SCALE\n"
     "def autograd(x):\n    x = x.clone().requires_grad_()\n    (x * x).sum().backward()\n"
     "    return x.grad\n", NAMESPACE)


def test_are_globals_swapped_for_one_call_and_put_back():
    scaled = NAMESPACE["scaled"]
    assert hidden.with_globals(scaled, {"SCALE": 5}, 2) == 10
    assert scaled(2) == 4
    assert hidden.with_globals(scaled, {"NEW": 1}, 1) == 2 and "NEW" not in NAMESPACE


def test_is_a_watched_call_counted_with_its_stand_ins():
    run = hidden.watched_with(NAMESPACE["scaled"], {"SCALE": torch.tensor(3.0)}, torch.ones(2))
    assert torch.equal(run.value, torch.full((2,), 3.0)) and run.operations >= 1
    assert hidden.watched(NAMESPACE["autograd"], torch.ones(2)).autograd == ("loss.backward()",)


def test_does_student_code_read_the_live_functions_source():
    def nn_forward_backward(params, X):
        for i in range(X.shape[0]):
            pass
        return X

    code = hidden.student_code(nn_forward_backward)
    assert code.loops_over_data("nn_forward_backward")
