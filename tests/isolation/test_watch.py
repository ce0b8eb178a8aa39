"""coursekit.isolation.watch: counting torch operations and blocking autograd during a call."""
import torch

from coursekit.isolation.watch import tensor_paths, watch


def test_does_the_op_counter_see_operations_inside_student_code():
    def student(t):  # torch functions, Tensor methods, operators, indexing, builtin sum
        return torch.exp(t).sum(dim=1) + t.max() * 2 + t[0, 0] + sum(t)[0]

    assert watch(student, torch.ones(4, 3)).operations >= 10


def test_does_a_python_loop_cost_operations_per_sample():
    def looped(X):
        return torch.stack([row.sum() for row in X])

    small, large = watch(looped, torch.ones(8, 3)), watch(looped, torch.ones(64, 3))
    assert large.operations > 4 * small.operations


def test_is_autograd_blocked_reported_and_restored():
    saved = (torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad)

    def uses_backward(x):
        x = x.clone().requires_grad_()
        (x * x).sum().backward()
        return x.grad

    run = watch(uses_backward, torch.ones(2))
    assert run.autograd == ("loss.backward()",) and run.value is None
    assert (torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad) == saved
    x = torch.ones(2, requires_grad=True)
    (x * x).sum().backward()
    assert torch.equal(x.grad, torch.full((2,), 2.0))


def test_are_returned_tensors_with_a_grad_fn_named_by_their_path():
    def keeps_graph(x):
        w = torch.ones(2, requires_grad=True)
        return {"loss": (w * x).sum(), "plain": x * 2}

    run = watch(keeps_graph, torch.ones(2))
    assert run.grad_outputs == ("value/loss",) and not run.autograd
    assert [p for p, _ in tensor_paths([1, {"a": torch.ones(1)}])] == ["value/1/a"]


def test_does_an_error_of_the_function_propagate():
    def broken(x):
        raise ValueError("nope")

    try:
        watch(broken, 1)
    except ValueError as err:
        assert str(err) == "nope"
    else:
        raise AssertionError("the error was swallowed")
