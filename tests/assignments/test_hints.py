"""Does each common Python/PyTorch error in student code get a hint, next to the error itself?

Each case raises the error that Python or PyTorch really raises for the mistake, inside a
student's function, and runs it through the checks' one-line message.
"""
import pytest
import torch

from conftest import ROOT
from coursekit.hidden import load_module

checks = load_module(ROOT / "assignments" / "two_layer_net" / "checks", "tln_checks_hints")
support, hints = checks.support, checks.hints
X = torch.randn(5, 4)
CASES = {  # mistake: (the student's code, part of the hint)
    "torch.max's (values, indices)": (lambda: X - torch.max(X, 1), "returns a pair (values, "
                                      "indices): take .values (or use torch.amax"),
    "torch.min's pair": (lambda: X - X.min(dim=1), "torch.amin"),
    "the dict type instead of a dict": (lambda: [k for k in dict], "dict (the type)"),
    "dict['W1'] on the type": (lambda: X @ dict["W1"], "dict (the type)"),
    "matmul shapes": (lambda: X @ torch.randn(10, 3),
                      "A is 5x4 and B is 10x3: check the order of the factors"),
    "broadcasting without keepdim": (lambda: X - X.sum(dim=1), "keepdim=True"),
    "numpy on a tensor that requires grad": (lambda: X.clone().requires_grad_().numpy(),
                                             ".detach() before .numpy()"),
    "integer division by zero": (lambda: 10 // (3 // 4), "// gives 0"),
    "in-place float op on int labels": (lambda: torch.arange(5).__itruediv__(2),
                                        "in-place operation"),
    "float labels as indices": (lambda: X[torch.arange(5), torch.zeros(5)], "int64"),
    "float64 meets float32": (lambda: X.double() @ torch.randn(4, 3), "different dtypes"),
    ".item() of a vector": (lambda: X.sum(dim=1).item(), "a single number"),
    "if on a tensor": (lambda: bool(X > 0), "torch.where"),
    "forward's tuple used as a tensor": (lambda: (X, X).exp(), "unpack them first"),
    "an undefined name": (lambda: undefined_helper(X), "undefined_helper is not defined"),  # noqa: F821
}


def _message(code):
    def nn_forward_pass(params, X):
        return code()

    with pytest.raises(AssertionError) as info:
        support._invoke("nn_forward_pass", nn_forward_pass, torch.device("cpu"), {}, X)
    return str(info.value)


@pytest.mark.parametrize("mistake", sorted(CASES))
def test_does_a_common_error_get_its_hint_after_the_original_error(mistake):
    code, hint = CASES[mistake]
    message = _message(code)
    said, _, advice = message.partition("; hint: ")
    assert said.startswith("nn_forward_pass raised ") and ": " in said, message
    assert hint in advice, message
    assert "\n" not in message


def test_does_a_cuda_tensor_to_numpy_get_its_hint():  # the message CUDA gives, without a GPU
    text = ("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the "
            "tensor to host memory first.")
    assert ".cpu() before .numpy()" in hints.hint_for("TypeError", text)


def test_does_an_unknown_error_stay_as_it_was():
    message = _message(lambda: (_ for _ in ()).throw(ValueError("something else")))
    assert message == "nn_forward_pass raised ValueError: something else"


def test_does_the_search_check_hint_too():
    def nn_get_search_params():
        steps = 10 // 20  # rounds down to 0
        return [1.0 / steps], [64, 128], [0.0, 1e-3], [0.9, 1.0]

    with pytest.raises(AssertionError) as info:
        checks.check_search_params(nn_get_search_params, 48)
    assert str(info.value).startswith("nn_get_search_params raised ZeroDivisionError: ")
    assert "; hint: a divisor is 0" in str(info.value)
