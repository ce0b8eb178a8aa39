"""Numeric gradients and the relative error used to compare them with analytic ones.

A gradient check perturbs one entry of a tensor at a time, evaluates the function twice and
compares the centred difference with the backward pass the student wrote::

    f = lambda w: nn_forward_backward(params, X, y, reg)[0]
    dW1_num = compute_numeric_gradient(f, params["W1"])
    rel_error(dW1_num, grads["W1"])   # about 1e-7 in float64

Run checks in float64: with float32 and h=1e-7 the perturbation is lost in rounding.
"""
import torch

__all__ = ["compute_numeric_gradient", "rel_error"]


def compute_numeric_gradient(f, x, dLdf=None, h=1e-7):
    """Centred-difference gradient of ``L = sum(dLdf * f(x))`` with respect to ``x``.

    For every entry ``x_i`` (in the order of the flattened tensor)::

        dL/dx_i = sum(dLdf * (f(x + h e_i) - f(x - h e_i))) / (2 h)

    ``x`` is perturbed in place, one entry at a time, and each entry is written back from a
    saved copy, so ``x`` ends bit-for-bit as it started (also when ``f`` raises). ``f`` is
    called as ``f(x)`` but may ignore its argument and read ``x`` through a closure, e.g.
    ``f = lambda w: nn_forward_backward(params, X, y)[0]`` with ``x = params["W1"]``.

    Args:
        f: Callable returning a float tensor of any shape S (a scalar loss or, e.g., scores
            of shape (N, C)); it must not keep or modify ``x``.
        x: Float tensor of any shape, contiguous, on any device; use float64 for checks.
        dLdf: Upstream gradient, float tensor of shape S (or broadcastable to it). Default:
            ``torch.ones_like(f(x))``, i.e. the gradient of ``f(x).sum()``.
        h: Step of the centred difference.

    Returns:
        Tensor with the shape, dtype and device of ``x``: the numeric gradient ``dL/dx``.

    Raises:
        TypeError: ``x`` is not a tensor.
        ValueError: ``x`` is not floating point or not contiguous, or ``dLdf`` does not
            broadcast to the shape of ``f(x)``.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}.")
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor (use float64), got {x.dtype}.")
    if not x.is_contiguous():
        raise ValueError("x must be contiguous: it is perturbed in place through a flat view; "
                         "pass the tensor that f reads, not a transposed view of it.")
    flat_x = x.view(-1)  # shares storage with x: writing here changes what f sees
    grad = torch.zeros_like(x)
    flat_grad = grad.view(-1)
    for i in range(flat_x.numel()):
        old = flat_x[i].clone()  # exact copy of the entry, written back below
        try:
            with torch.no_grad():
                flat_x[i] = old + h
            pos = _evaluate(f, x)
            with torch.no_grad():
                flat_x[i] = old - h
            neg = _evaluate(f, x)
        finally:
            with torch.no_grad():
                flat_x[i] = old
        if i == 0:
            dLdf = _as_upstream(torch.ones_like(pos) if dLdf is None else dLdf, pos)
        flat_grad[i] = ((pos - neg) * dLdf).sum() / (2 * h)
    return grad


def _evaluate(f, x):
    """``f(x)`` as a detached copy (f may return a view of x, or a Python number)."""
    out = f(x)
    if not isinstance(out, torch.Tensor):
        return torch.as_tensor(out, dtype=x.dtype, device=x.device)
    return out.detach().clone()


def _as_upstream(dLdf, fx):
    """``dLdf`` as a tensor on ``fx``'s device and dtype; ValueError if it can't broadcast."""
    dLdf = torch.as_tensor(dLdf, device=fx.device, dtype=fx.dtype)
    try:  # expand_as: a view, no copy (torch.broadcast_shapes imports sympy, ~1 CPU s)
        dLdf.expand_as(fx)
    except RuntimeError:
        raise ValueError(f"dLdf has shape {tuple(dLdf.shape)} but f(x) has shape "
                         f"{tuple(fx.shape)}; pass an upstream gradient shaped like "
                         f"f(x).") from None
    return dLdf


def rel_error(x, y, eps=1e-10):
    """Relative error between two tensors (or numbers), as a Python float::

        rel_error(x, y) = max|x - y| / max(eps, max(|x| + |y|))

    Computed in float64 on the CPU, so it works for tensors on any device (and for two
    tensors on different devices). Two all-zero inputs give 0.0.

    Args:
        x: Tensor of any shape S (any dtype, any device), or a number or nested list.
        y: Same shape S as ``x``.
        eps: Lower bound of the denominator, so that zero inputs don't divide by zero.

    Returns:
        The relative error, a float in [0, 1]; 0.0 for empty inputs.

    Raises:
        ValueError: ``x`` and ``y`` have different shapes.
    """
    x = _as_cpu_float64(x)
    y = _as_cpu_float64(y)
    if x.shape != y.shape:
        raise ValueError(f"rel_error needs equal shapes, got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}; compare a gradient with the gradient of the "
                         "same parameter.")
    if x.numel() == 0:
        return 0.0
    top = (x - y).abs().max()
    bottom = (x.abs() + y.abs()).max().clamp(min=eps)
    return (top / bottom).item()


def _as_cpu_float64(value):
    if isinstance(value, torch.Tensor):
        return value.detach().to(device="cpu", dtype=torch.float64)
    return torch.as_tensor(value, dtype=torch.float64)
