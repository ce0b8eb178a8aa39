"""Tests of usefuns.grad: the numeric gradient against torch.autograd (float64), rel_error."""
import pytest
import torch

from usefuns.grad import compute_numeric_gradient, rel_error

TOL = 1e-7  # centred differences with h=1e-7 in float64 agree with autograd to about 1e-9


def _randn(*shape, seed=0, dtype=torch.float64, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype).to(device)


def _autograd(f, x, dLdf=None):
    x = x.detach().clone().requires_grad_(True)
    out = f(x)
    return torch.autograd.grad(out, x, torch.ones_like(out) if dLdf is None else dLdf)[0]


def test_does_numeric_gradient_match_autograd_for_scalar_f():
    x = _randn(3, 4)
    f = lambda t: (t ** 3).sum() + torch.sin(t).prod()  # noqa: E731
    assert rel_error(compute_numeric_gradient(f, x), _autograd(f, x)) < TOL


def test_does_numeric_gradient_match_autograd_for_non_scalar_f_with_dLdf():
    x, A, dLdf = _randn(5, 4), _randn(4, 3, seed=1), _randn(5, 3, seed=2)
    f = lambda t: torch.tanh(t @ A)  # noqa: E731  (5, 3)
    num = compute_numeric_gradient(f, x, dLdf)
    assert num.shape == x.shape and num.dtype == x.dtype
    assert rel_error(num, _autograd(f, x, dLdf)) < TOL


def test_is_default_dLdf_the_gradient_of_the_sum():
    x, A = _randn(2, 3), _randn(3, 4, seed=1)
    f = lambda t: torch.exp(t @ A)  # noqa: E731
    assert rel_error(compute_numeric_gradient(f, x), _autograd(f, x)) < TOL


def test_does_numeric_gradient_leave_x_bit_for_bit_unchanged():
    x = _randn(6, 7) * 10
    h = 1e-7
    # The check has teeth: adding and subtracting h would not give every entry back.
    assert not torch.equal(((x + h) - 2 * h) + h, x)
    before = x.clone()
    compute_numeric_gradient(lambda t: t * 2.0, x, dLdf=_randn(6, 7, seed=3))  # non-scalar f
    assert torch.equal(x, before)
    compute_numeric_gradient(lambda t: (t ** 2).sum(), x, h=1e-3)
    assert torch.equal(x, before)


def test_does_numeric_gradient_leave_float32_x_unchanged():
    x = _randn(3, 4, dtype=torch.float32)
    before = x.clone()
    num = compute_numeric_gradient(lambda t: t.sum(), x, h=1e-2)
    assert torch.equal(x, before) and num.dtype == torch.float32


def test_does_numeric_gradient_see_x_through_a_closure():
    params = {"W1": _randn(4, 3), "b1": _randn(3, seed=1)}
    X = _randn(5, 4, seed=2)

    def loss(params):
        return torch.relu(X @ params["W1"] + params["b1"]).pow(2).mean()

    f = lambda _: loss(params)  # noqa: E731  (ignores its argument, like a student's lambda)
    for name in ("W1", "b1"):
        expected = _autograd(lambda w: loss({**params, name: w}), params[name])
        assert rel_error(compute_numeric_gradient(f, params[name]), expected) < 1e-6


def test_is_x_restored_when_f_raises():
    x = _randn(3)
    before = x.clone()

    def f(t):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        compute_numeric_gradient(f, x)
    assert torch.equal(x, before)


def test_does_numeric_gradient_work_for_a_leaf_that_requires_grad():
    x = _randn(2, 2).requires_grad_(True)
    num = compute_numeric_gradient(lambda t: (t ** 2).sum(), x)
    assert rel_error(num, 2 * x.detach()) < TOL


def test_are_bad_inputs_to_numeric_gradient_rejected_clearly():
    with pytest.raises(ValueError, match="floating-point"):
        compute_numeric_gradient(lambda t: t.sum(), torch.arange(3))
    with pytest.raises(ValueError, match="contiguous"):
        compute_numeric_gradient(lambda t: t.sum(), _randn(3, 4).T)
    with pytest.raises(ValueError, match="dLdf has shape"):
        compute_numeric_gradient(lambda t: t * 1.0, _randn(3, 4), dLdf=_randn(2, 5))
    with pytest.raises(ValueError, match="dLdf has shape"):
        compute_numeric_gradient(lambda t: t.sum(), _randn(3), dLdf=_randn(3))  # f is scalar
    with pytest.raises(TypeError, match="torch.Tensor"):
        compute_numeric_gradient(lambda t: t, [1.0, 2.0])


def test_is_rel_error_zero_for_equal_and_for_zero_inputs():
    x = _randn(3, 3)
    assert rel_error(x, x.clone()) == 0.0
    assert rel_error(torch.zeros(4), torch.zeros(4)) == 0.0  # no division by zero
    assert isinstance(rel_error(x, x), float)


def test_does_rel_error_give_a_known_ratio_for_tensors_and_numbers():
    assert rel_error(torch.tensor([1.0]), torch.tensor([3.0])) == pytest.approx(0.5)
    assert rel_error(1, 3) == pytest.approx(0.5)
    assert rel_error(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 6.0])) == pytest.approx(0.5)


def test_does_rel_error_reject_a_shape_mismatch():
    with pytest.raises(ValueError, match="equal shapes"):
        rel_error(torch.zeros(3), torch.zeros(4))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_does_numeric_gradient_work_on_cuda():
    x = _randn(4, 3, device="cuda")
    A = _randn(3, 2, seed=1, device="cuda")
    f = lambda t: torch.tanh(t @ A)  # noqa: E731
    before = x.clone()
    num = compute_numeric_gradient(f, x, dLdf=torch.ones(4, 2))  # upstream on the CPU
    assert num.device.type == "cuda" and torch.equal(x, before)
    assert rel_error(num, _autograd(f, x).cpu()) < TOL  # rel_error across devices
