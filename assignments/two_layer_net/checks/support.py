"""What every check shares: private references, one-line failures, calling the student's code.

The checks run in the grader (``coursekit autograde``), where no student code runs in the same
process; under plain ``nbgrader autograde`` (or an instructor's own run of the solved notebook)
they run in the kernel beside the student's code, so the functions the comparisons rely on are
bound privately at import, before any answer runs: a later ``torch.allclose = ...`` does not
change a verdict. Letters: N samples, D inputs, H hidden units, C classes.

One bug costs its points once: a check calls the function it tests with stand-ins for the other
student functions it would call (``swaps``, through ``coursekit.hidden.with_globals``), and when
the error comes from another student function all the same (one the tested function calls on
its own), the message says that the function could not be tested and why.
"""
import functools
import math
from pathlib import Path

import torch

from coursekit.hidden import with_globals
from usefuns.utils import get_device, set_deterministic

from .hints import hint_for

# Private references, taken before any student code can replace them.
_Tensor, _TB = torch.Tensor, torch._C.TensorBase
_isinstance, _len, _float, _type, _callable = isinstance, len, float, type, callable
_tuple, _list, _dict, _sorted, _any, _min = tuple, list, dict, sorted, any, min
_isclose, _isfinite_f, _log = math.isclose, math.isfinite, math.log
_allclose, _equal, _isfinite, _all = torch.allclose, torch.equal, torch.isfinite, torch.all
_sub, _mul, _abs, _amax, _tsum = torch.sub, torch.mul, torch.abs, torch.amax, torch.sum
_t_to, _t_detach, _t_clone = _Tensor.to, _Tensor.detach, _Tensor.clone
_t_item, _t_numel, _t_size = _Tensor.item, _Tensor.numel, _Tensor.size
_dtype_of, _device_of = _TB.dtype.__get__, _TB.device.__get__
_requires_grad, _grad_fn, _grad_of = (_TB.requires_grad.__get__, _TB.grad_fn.__get__,
                                      _TB.grad.__get__)
_CPU, _F32, _F64, _I64 = torch.device("cpu"), torch.float32, torch.float64, torch.int64
_KEYS = ("W1", "b1", "W2", "b2")
_BACKWARD_ORDER = ("W2", "b2", "W1", "b1")  # a bug in dscores shows in dW2 first


def _one_line(text):
    return " ".join(str(text).split())


def _fail(message):
    raise AssertionError(_one_line(message))


def _is_tensor(x):
    return _isinstance(x, _Tensor)


def _shape(t):
    return _tuple(_t_size(t))


def _cpu64(t):
    return _t_to(_t_detach(t), device=_CPU, dtype=_F64)


def _snapshot(t):
    return _t_clone(_cpu64(t))


def _close(a, b, rtol, atol):
    """Student tensor ``a`` against the expected CPU float64 tensor ``b``."""
    return _allclose(_cpu64(a), b, rtol=rtol, atol=atol)


def _rel_error(a, b):
    diff = _t_item(_amax(_abs(_sub(_cpu64(a), b))))
    return diff / (_t_item(_amax(_abs(b))) + 1e-12)


def _finite(t):
    return _t_item(_all(_isfinite(_t_detach(t))))


def _move(tree, device, dtype):
    """A fresh copy of a tensor or dict of tensors on ``device``; floats cast to ``dtype``."""
    if _isinstance(tree, _dict):
        return {k: _move(v, device, dtype) for k, v in tree.items()}
    if tree.is_floating_point():
        return _t_clone(_t_to(tree, device=device, dtype=dtype))
    return _t_clone(_t_to(tree, device=device))


def _describe(obj):
    if _is_tensor(obj):
        return f"a tensor of shape {_shape(obj)}"
    described = getattr(obj, "coursekit_description", None)  # what could not cross the wire
    if _isinstance(described, str):
        return described
    return "None" if obj is None else f"a {_type(obj).__name__}"


def _setup(device):
    set_deterministic()
    return get_device() if device is None else torch.device(device)


_DEVICE_MIX = ("same device", "expected object of device type", "indices should be either on cpu",
               "expected all tensors to be on")


# The functions students write; a check names the one it tests, the others are stand-ins.
STUDENT_FUNCTIONS = ("nn_forward_pass", "nn_forward_backward", "nn_train", "nn_predict",
                     "nn_get_search_params", "find_best_net")
_HERE = Path(__file__).resolve().parent
_INSTRUCTOR = (str(_HERE), str(_HERE.parent / "reference.py"))  # not the student's frames


def _raised_in(err, name):
    """The student function other than ``name`` whose frame raised ``err``, or None."""
    tb, found = err.__traceback__, None
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name in STUDENT_FUNCTIONS and not code.co_filename.startswith(_INSTRUCTOR):
            found = code.co_name
        tb = tb.tb_next
    return found if found != name else None


def _error_message(name, err, device):
    """One line that turns an exception raised by the student's code into advice."""
    kind, text = _type(err).__name__, _one_line(err)[:200]
    inner = _raised_in(err, name)
    if inner is not None:  # another function's error: say so, not under this one's name
        return f"{name} could not be tested: {_error_message(inner, err, device)}"
    low = text.lower()
    if _isinstance(err, NotImplementedError):
        return (f"{name} raised NotImplementedError: the answer is still the stub; replace "
                f"raise NotImplementedError() with your code")
    if _any(s in low for s in _DEVICE_MIX):
        return (f"{name}: your code creates a tensor on the CPU while the inputs are on "
                f"{device.type}: create tensors with device=X.device or torch.*_like(...)")
    if "out of bounds for dimension 1 with size 1" in low:
        return (f"{name} raised {kind} ({text}): the scores have a single column there; does "
                f"your max shift replace the scores instead of subtracting the row maximum?")
    if "device-side assert" in low:
        return (f"{name} triggered a CUDA device-side assert (usually an index out of range); "
                f"restart the kernel and run your code on the CPU to see the error")
    hint = hint_for(kind, text)
    said = f"{name} raised {kind}: {text}" if text else f"{name} raised {kind}"
    return f"{said}; hint: {hint}" if hint else said


def _call(fn, swaps, *args, **kwargs):
    """``fn(*args, **kwargs)`` with the globals ``swaps`` replaced for the call (stand-ins for
    the other student functions it calls), wherever ``fn`` runs."""
    if swaps and (hasattr(fn, "with_globals") or hasattr(fn, "__globals__")):
        return with_globals(fn, swaps, *args, **kwargs)
    return fn(*args, **kwargs)


def _invoke(name, fn, device, *args, swaps=None, **kwargs):
    if not _callable(fn):
        _fail(f"{name} is not a function: run the cell that defines it")
    try:
        return _call(fn, swaps, *args, **kwargs)
    except Exception as err:  # the student's bug, reported below without a chained traceback
        message = _error_message(name, err, device)
    _fail(message)


def _check_tensor(name, what, t, shape, letters, device, dtype, hint=""):
    if not _is_tensor(t):
        _fail(f"{name}: {what} must be a torch.Tensor, got {_describe(t)}")
    if _shape(t) != shape:
        _fail(f"{name}: {what} has shape {_shape(t)} but should be {letters} = {shape}{hint}")
    if _device_of(t).type != device.type:
        _fail(f"{name}: {what} is on {_device_of(t).type} but the inputs are on {device.type}: "
              f"create tensors with device=X.device or torch.*_like(...), and don't move them")
    if dtype is not None and _dtype_of(t) != dtype:
        _fail(f"{name}: {what} is {_dtype_of(t)} but the inputs are {dtype}: keep the inputs' "
              f"dtype (dtype=X.dtype or torch.*_like(...))")


def _check_unchanged(name, given, kept):
    for k, v in kept.items():
        now = given.get(k)
        if not (_is_tensor(now) and _shape(now) == _shape(v) and _equal(_cpu64(now), _cpu64(v))):
            _fail(f"{name} changed its input {k} in place: compute new tensors instead")


def _fb(fn, device, params, X, y, reg, swaps=None):
    """Run ``nn_forward_backward`` with labels (on a CPU copy first) and unpack (loss, grads);
    ``swaps``: stand-ins for the functions it calls (the reference forward pass)."""
    name = "nn_forward_backward"
    if device.type != "cpu":
        _invoke(name, fn, _CPU, _move(params, _CPU, None), _move(X, _CPU, None),
                y=_move(y, _CPU, None), reg=reg, swaps=swaps)
    kept = {**_move(params, device, None), "X": _move(X, device, None)}
    out = _invoke(name, fn, device, params, X, y=y, reg=reg, swaps=swaps)
    _check_unchanged(name, {**params, "X": X}, kept)
    if not (_isinstance(out, (_tuple, _list)) and _len(out) == 2):
        _fail(f"{name} must return (loss, grads) when y is given; it returned {_describe(out)}")
    return out[0], out[1]


def _loss_value(loss, N):
    name = "nn_forward_backward"
    if _is_tensor(loss):
        if _t_numel(loss) != 1:
            hint = (": did you forget to average over the samples?" if _shape(loss) == (N,)
                    else "")
            _fail(f"{name}: the loss must be a single number (a 0-dim tensor), got a tensor of "
                  f"shape {_shape(loss)}{hint}")
        return _t_item(_cpu64(loss))
    try:
        return _float(loss)
    except Exception:
        _fail(f"{name}: the loss must be a number (a 0-dim tensor), got {_describe(loss)}")


def _check_grads_dict(grads, params, device, dtype):
    name = "nn_forward_backward"
    if not _isinstance(grads, _dict):
        _fail(f"{name}: grads must be a dict with the keys W1, b1, W2, b2, got {_describe(grads)}")
    missing = [k for k in _KEYS if k not in grads]
    extra = _sorted(_one_line(k) for k in grads if k not in _KEYS)
    if missing:
        _fail(f"{name}: grads is missing {', '.join(missing)}: use the keys W1, b1, W2, b2")
    if extra:
        _fail(f"{name}: grads has unexpected keys {', '.join(extra)}: use exactly W1, b1, W2, b2")
    for k in _BACKWARD_ORDER:
        shape = _shape(params[k])
        _check_tensor(name, f"d{k}", grads[k], shape, f"the shape of {k}", device, dtype)



def own_forward_first(check):
    """Run a check of ``nn_forward_backward`` as it is (its own forward pass, autograd graphs
    and all); if it fails, run it again with the reference forward pass standing in
    (``forward=FORWARD_STAND_IN``): when that passes, the bug is in ``nn_forward_pass`` and
    costs only the forward tests; when it fails too, its message is this function's own."""
    @functools.wraps(check)
    def run(nn_forward_backward, device=None):
        from .cases import FORWARD_STAND_IN

        try:
            return check(nn_forward_backward, device)
        except AssertionError:
            return check(nn_forward_backward, device, forward=FORWARD_STAND_IN)
    return run
