"""Watch a function run: how many torch operations it makes, and whether it uses autograd.

Checks that judge *how* an answer computes (backpropagation by hand, vectorised code) call the
student's function under :func:`watch`. In the grader the function is a stand-in and the watch
happens in the verification child (``coursekit.isolation.child``), next to the student's code,
so its figures are only ever a reason to *fail* a check: code that tampers with the counter
could lower them, and the static analysis of the source (``coursekit.engine.verify.code``)
decides what the figures cannot.

    watched = watch(nn_forward_backward, params, X, y=y, reg=0.1)
    watched.operations, watched.autograd, watched.grad_outputs
"""
from dataclasses import dataclass

import torch
from torch.overrides import TorchFunctionMode

__all__ = ["Watched", "watch", "tensor_paths"]

BLOCKED = (("loss.backward()", torch.Tensor, "backward"),
           ("torch.autograd.backward", torch.autograd, "backward"),
           ("torch.autograd.grad", torch.autograd, "grad"))


@dataclass(frozen=True)
class Watched:
    """What one watched call did.

    Attributes:
        value: what the function returned (None when it used autograd: the call was stopped).
        operations: torch functions and Tensor methods it called (``TorchFunctionMode``).
        autograd: the autograd entry points it called, e.g. ``("loss.backward()",)``.
        grad_outputs: paths (``"value/1/W1"``) of returned tensors that require grad or carry
            a ``grad_fn``: gradients computed by autograd.
    """
    value: object
    operations: int
    autograd: tuple = ()
    grad_outputs: tuple = ()


class _AutogradUsed(BaseException):
    """Stops the call at the first autograd entry point (``except Exception`` misses it)."""


class _OpCounter(TorchFunctionMode):
    """Counts every torch function and Tensor method call made while it is active."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def tensor_paths(value, path="value"):
    """``[(path, tensor)]`` of every tensor inside nested lists, tuples and dicts."""
    if isinstance(value, torch.Tensor):
        return [(path, value)]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in tensor_paths(v, f"{path}/{k}")]
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in tensor_paths(v, f"{path}/{i}")]
    return []


def watch(fn, *args, **kwargs):
    """Call ``fn(*args, **kwargs)`` counting torch operations, with autograd blocked.

    Returns:
        :class:`Watched`. Exceptions raised by ``fn`` propagate.
    """
    used = []

    def blocked(what):
        def raiser(*_args, **_kwargs):
            used.append(what)
            raise _AutogradUsed(what)
        return raiser

    saved = [(owner, attr, getattr(owner, attr)) for _, owner, attr in BLOCKED]
    for what, owner, attr in BLOCKED:
        setattr(owner, attr, blocked(what))
    counter = _OpCounter()
    value = None
    try:
        with counter:
            value = fn(*args, **kwargs)
    except _AutogradUsed:
        value = None
    finally:
        for owner, attr, original in saved:
            setattr(owner, attr, original)
    grads = tuple(path for path, t in tensor_paths(value)
                  if t.requires_grad or t.grad_fn is not None)
    return Watched(value, counter.count, tuple(used), grads)
