"""Backpropagation by hand, vectorised: no autograd, no loop over the samples.

Read first, then watched. The source that ``nn_forward_backward`` can reach (its own and every
helper it calls, but not ``nn_forward_pass``: the reference stands in for it, so a bug there
costs only the forward tests) must not name autograd, must not do what the grader cannot follow
(``eval``, ``getattr`` with a computed name, ``inspect``...: fail closed) and must not loop over
the data; then the function runs watched (``coursekit.hidden.watched_with``): autograd blocked,
torch operations counted at N = 8 and N = 128. The source decides what the watch cannot: under
``coursekit autograde`` the watch happens next to the student's code, so its figures can only
make the check fail.
"""
from coursekit.hidden import student_code, watched_with

from .cases import _BACKPROP_CASES, FORWARD_STAND_IN
from .support import (_F64, _KEYS, _describe, _dict, _fail, _fb, _grad_of, _invoke, _is_tensor,
                      _isinstance, _len, _list, _move, _requires_grad, _setup, _tuple)

__all__ = ["check_backprop"]

# Autograd by name, its graph walked by hand (grad_fn, next_functions), parameters that require
# gradients by default (Parameter), hooks, and numeric differentiation (usefuns.grad), which is
# not backpropagation either.
AUTOGRAD_ATTRIBUTES = frozenset({"backward", "autograd", "grad", "requires_grad",
                                 "requires_grad_", "enable_grad", "set_grad_enabled", "func",
                                 "vjp", "jvp", "jacobian", "hessian", "retain_grad", "grad_fn",
                                 "next_functions", "Parameter", "register_hook",
                                 "compute_numeric_gradient"})
AUTOGRAD_NAMES = frozenset({"autograd", "functorch", "vjp", "jvp", "jacobian", "hessian",
                            "Parameter", "compute_numeric_gradient"})
AUTOGRAD_STRINGS = AUTOGRAD_ATTRIBUTES - {"grad", "func", "Parameter"}
AUTOGRAD_MODULES = ("torch.autograd", "torch.func", "functorch", "usefuns.grad")


def _read(entry, code):
    """Fail on what the source of ``entry`` shows: autograd, code the grader cannot follow,
    data loops (``entry`` is the function's own name, ``nn_forward_backward`` in a notebook)."""
    name = "nn_forward_backward"
    skip = tuple(FORWARD_STAND_IN)  # the reference stands in for the forward pass
    if not code.reach(entry, skip):
        _fail(f"{name}: its source could not be read, so backpropagation by hand cannot be "
              f"confirmed: define it in its answer cell")
    found = code.mentions(entry, attributes=AUTOGRAD_ATTRIBUTES, names=AUTOGRAD_NAMES,
                          strings=AUTOGRAD_STRINGS, modules=AUTOGRAD_MODULES, exclude=skip)
    if found:
        _fail(f"{name} uses autograd ({found[0]}): write the backward pass by hand")
    tricks = code.reflective(entry, skip)
    if tricks:
        _fail(f"{name} cannot be confirmed to backpropagate by hand: it uses {tricks[0]}, "
              f"which the grader cannot follow; write it with plain torch operations")
    loops = code.loops_over_data(entry, skip)
    if loops:
        _fail(f"{name} loops over the samples in Python ({loops[0]}); vectorise it — note "
              f"that Python's sum() over a tensor is such a loop, use torch.sum")


def check_backprop(nn_forward_backward, device=None):
    """No autograd anywhere, and a number of torch operations that does not grow with N."""
    device = _setup(device)
    name = "nn_forward_backward"
    params, X, y = (_move(_BACKPROP_CASES[0][k], device, _F64) for k in ("params", "X", "y"))
    _fb(nn_forward_backward, device, params, X, y, 0.1,  # a stub or a crash says so first
        FORWARD_STAND_IN)
    _read(getattr(nn_forward_backward, "__name__", name), student_code(nn_forward_backward))
    autograd = f"{name} uses autograd ({{}}): write the backward pass by hand"
    counts = []
    for case in _BACKPROP_CASES:
        params, X, y = (_move(case[k], device, _F64) for k in ("params", "X", "y"))
        run = _invoke(name, watched_with, device, nn_forward_backward, FORWARD_STAND_IN, params,
                      X, y=y, reg=0.1)
        if run.autograd:
            _fail(autograd.format(f"it calls {run.autograd[0]}"))
        if run.grad_outputs:
            _fail(autograd.format(f"what it returned at {run.grad_outputs[0]} carries a grad_fn"))
        out = run.value
        if not (_isinstance(out, (_tuple, _list)) and _len(out) == 2):
            _fail(f"{name} must return (loss, grads) when y is given; it returned "
                  f"{_describe(out)}")
        loss, grads = out
        returned = [("the loss", loss)]
        if _isinstance(grads, _dict):
            returned += [(f"d{k}", g) for k, g in grads.items()]
        for what, t in returned:  # objects that only pretend to be tensors prove nothing here
            if not _is_tensor(t):
                _fail(f"{name}: {what} must be a torch.Tensor, got {_describe(t)}")
        for k in _KEYS:
            param = params.get(k)
            if _is_tensor(param) and (_requires_grad(param) or _grad_of(param) is not None):
                _fail(autograd.format(f"it sets requires_grad on params['{k}']"))
        counts.append(run.operations)
    (n_small, n_large), sizes = counts, [_len(case["y"]) for case in _BACKPROP_CASES]
    if n_large > 1.5 * n_small + 10:
        _fail(f"{name} loops over the samples in Python (its number of torch operations grows "
              f"with N: {n_small} at N={sizes[0]}, {n_large} at N={sizes[1]}); vectorise it — "
              f"note that Python's sum() over a tensor is such a loop, use torch.sum")
