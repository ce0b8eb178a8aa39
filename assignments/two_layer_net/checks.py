"""Hidden-test support for the two-layer-net assignment (instructor only, never shown to students).

The notebook's hidden test cells load this file by path (it is not a package) and call one check
per answer, e.g. ``checks.check_grads(nn_forward_backward)``. Every check

- builds its inputs on the CPU from a seeded ``torch.Generator`` and computes the expected values
  in float64 with ``reference.py`` (loaded by path at import), so nothing depends on the device;
- moves the inputs to ``device`` (default ``usefuns.utils.get_device()``) with TF32 off, and on a
  GPU first runs the answer on a CPU copy, so that an out-of-range index raises a readable error
  instead of a device-side assert that would poison the kernel's CUDA context;
- compares on the CPU in float64 with explicit tolerances;
- returns None when the answer passes and raises ``AssertionError`` with one line that names the
  mistake when it fails (never the hidden inputs nor test code); an exception raised by the
  student's code becomes such a line too.

The functions the comparisons rely on are bound privately at import, and the expected values are
computed at import, so a student who later monkeypatches ``torch.allclose`` (or the reference's
torch calls) does not change a verdict. Letters: N samples, D inputs, H hidden units, C classes.
"""
import importlib.util
import math
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode

from usefuns.utils import get_device, set_deterministic

__all__ = ["check_forward", "check_loss", "check_loss_stability", "check_grads",
           "check_backprop", "check_train", "check_predict"]

_spec = importlib.util.spec_from_file_location(
    "_tln_reference", Path(__file__).with_name("reference.py"))
_ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ref)
_REF_FORWARD, _REF_FB = _ref.nn_forward_pass, _ref.nn_forward_backward

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


class _AutogradUsed(BaseException):
    """Raised by the blocked autograd calls; a BaseException, so `except Exception` misses it."""


class _OpCounter(TorchFunctionMode):
    """Counts every torch function and Tensor method call made while it is active."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


# ---------------------------------------------------------------- helpers
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
    return "None" if obj is None else f"a {_type(obj).__name__}"


def _setup(device):
    set_deterministic()
    return get_device() if device is None else torch.device(device)


_DEVICE_MIX = ("same device", "expected object of device type", "indices should be either on cpu",
               "expected all tensors to be on")


def _error_message(name, err, device):
    """One line that turns an exception raised by the student's code into advice."""
    kind, text = _type(err).__name__, _one_line(err)[:200]
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
    return f"{name} raised {kind}: {text}" if text else f"{name} raised {kind}"


def _invoke(name, fn, device, *args, **kwargs):
    if not _callable(fn):
        _fail(f"{name} is not a function: run the cell that defines it")
    try:
        return fn(*args, **kwargs)
    except _AutogradUsed:
        raise
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


def _fb(fn, device, params, X, y, reg):
    """Run ``nn_forward_backward`` with labels (on a CPU copy first) and unpack (loss, grads)."""
    name = "nn_forward_backward"
    if device.type != "cpu":
        _invoke(name, fn, _CPU, _move(params, _CPU, None), _move(X, _CPU, None),
                y=_move(y, _CPU, None), reg=reg)
    kept = {**_move(params, device, None), "X": _move(X, device, None)}
    out = _invoke(name, fn, device, params, X, y=y, reg=reg)
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


# ---------------------------------------------------------------- hidden inputs (CPU, float64)
def _normal(g, *shape, std=1.0, mean=0.0):
    return torch.randn(*shape, generator=g, dtype=_F64) * std + mean


def _inputs(seed, N, D, H, C, x=1.0, w1=0.5, b1=(0.0, 0.5), w2=0.5, b2=(0.0, 0.5),
            float32=False):
    g = torch.Generator().manual_seed(seed)
    params = {"W1": _normal(g, D, H, std=w1), "b1": _normal(g, H, mean=b1[0], std=b1[1]),
              "W2": _normal(g, H, C, std=w2), "b2": _normal(g, C, mean=b2[0], std=b2[1])}
    X = _normal(g, N, D, std=x)
    y = torch.randint(C, (N,), generator=g)
    if float32:  # so that the float64 reference sees exactly the values the student gets
        params, X = {k: v.float().double() for k, v in params.items()}, X.float().double()
    return {"params": params, "X": X, "y": y}


def _pieces(case, reg):
    """The parts of the loss and of its gradients that the diagnoses recombine."""
    p, X, y = case["params"], case["X"], case["y"]
    N, C = X.shape[0], p["W2"].shape[1]
    z = X @ p["W1"] + p["b1"]
    h = z.clamp(min=0)
    log_probs = torch.log_softmax(h @ p["W2"] + p["b2"], dim=1)
    onehot = torch.zeros(N, C, dtype=_F64)
    onehot[torch.arange(N), y] = 1

    def backward(dscores, mask):
        dh = dscores @ p["W2"].t()
        dz = dh * mask(dh)
        return {"W2": h.t() @ dscores, "b2": dscores.sum(0), "W1": X.t() @ dz, "b1": dz.sum(0)}

    dscores = (log_probs.exp() - onehot) / N
    return {
        "data": -log_probs[torch.arange(N), y].mean().item(), "lnC": _log(C),
        "regW": ((p["W1"] ** 2).sum() + (p["W2"] ** 2).sum()).item(),
        "regb": ((p["b1"] ** 2).sum() + (p["b2"] ** 2).sum()).item(),
        "G": backward(dscores, lambda dh: h > 0),  # data gradients (the reference's at reg=0)
        "R": {k: 2 * reg * p[k] for k in _KEYS},  # 2 * reg * param, biases included
        "nomask": backward(dscores, lambda dh: torch.ones_like(h)),
        "gradmask": backward(dscores, lambda dh: dh > 0),
        "uniform": backward((1.0 / C - onehot) / N, lambda dh: h > 0),
    }


def _with_reference(case, reg=0.0):
    p, X, y = case["params"], case["X"], case["y"]
    case["scores"], case["hidden"] = _REF_FORWARD(p, X)
    case["z"] = X @ p["W1"] + p["b1"]
    case["reg"] = reg
    loss, case["grads"] = _REF_FB(p, X, y=y, reg=reg)
    case["loss"] = loss.item()
    case["pieces"] = _pieces(case, reg)
    return case


def _stability_inputs(seed, spread_rows):
    """float32 scores of 1e3 to 1e4 with a moderate spread inside each row."""
    case = _inputs(seed, 8, 5, 6, 4, b1=(1.0, 0.3), b2=(2000.0, 1.0))
    if spread_rows:  # rows far apart: a shared column offset scaled by each row's hidden layer
        g = torch.Generator().manual_seed(seed + 1)
        case["params"]["W2"] += torch.rand(6, 1, generator=g, dtype=_F64) * 500 + 200
    case["params"] = {k: v.float().double() for k, v in case["params"].items()}
    case["X"] = case["X"].float().double()
    return _with_reference(case)


_FORWARD_CASES = ((_with_reference(_inputs(11, 7, 6, 9, 4, float32=True)), _F32, 1e-5, 1e-5),
                  (_with_reference(_inputs(12, 11, 5, 8, 3)), _F64, 1e-9, 1e-9))
_LOSS_CASE = _with_reference(_inputs(21, 8, 5, 7, 4, x=1.5, w2=1.0, b2=(0.0, 1.0)), reg=0.1)
_STABILITY_CASES = (_stability_inputs(31, False), _stability_inputs(32, True))
_GRAD_CASE = _with_reference(_inputs(41, 9, 5, 8, 4), reg=0.1)
_BACKPROP_CASES = (_inputs(51, 8, 5, 6, 3), _inputs(52, 128, 5, 6, 3))
_PREDICT_CASE = _with_reference(_inputs(72, 16, 5, 7, 4, x=2.0, w2=2.0, float32=True))
_g = torch.Generator().manual_seed(71)
_TRAIN = {"params": {k: _normal(_g, *s) for k, s in zip(_KEYS, ((3, 4), (4,), (4, 2), (2,)))},
          "X": _normal(_g, 6, 3), "y": torch.zeros(6, dtype=_I64), "X_val": _normal(_g, 4, 3),
          "y_val": torch.tensor([0, 1, 0, 1]), "learning_rate": 0.5, "decay": 0.5,
          "num_iters": 5, "batch_size": 3}  # 2 iterations per epoch: the decay shows at step 1
_TRAIN["grads"] = [{k: _normal(_g, *v.shape) for k, v in _TRAIN["params"].items()}
                   for _ in range(_TRAIN["num_iters"])]
_TRAIN["losses"] = [2.0 - 0.25 * t for t in range(_TRAIN["num_iters"])]


# ---------------------------------------------------------------- checks
def check_forward(nn_forward_pass, device=None):
    """Scores and post-ReLU hidden layer on fresh shapes, float32 and float64, any device."""
    device = _setup(device)
    name = "nn_forward_pass"
    for case, dtype, rtol, atol in _FORWARD_CASES:
        params, X = _move(case["params"], device, dtype), _move(case["X"], device, dtype)
        kept = {**_move(params, device, None), "X": _move(X, device, None)}
        out = _invoke(name, nn_forward_pass, device, params, X)
        _check_unchanged(name, {**params, "X": X}, kept)
        if not (_isinstance(out, (_tuple, _list)) and _len(out) == 2):
            _fail(f"{name} must return a tuple (scores, hidden); it returned {_describe(out)}")
        N, H, C = _shape(X)[0], case["hidden"].shape[1], case["scores"].shape[1]
        fixed = ": compute it from params and X (a fixed answer does not depend on the input)"
        _check_tensor(name, "scores", out[0], (N, C), "(N, C)", device, dtype, fixed)
        _check_tensor(name, "hidden", out[1], (N, H), "(N, H)", device, dtype, fixed)
        scores, hidden = out
        if not _close(hidden, case["hidden"], rtol, atol):
            if _t_item(_amax(_mul(_cpu64(hidden), -1.0))) > 0:
                _fail(f"{name}: hidden has negative entries: return the hidden layer after the "
                      f"ReLU, max(0, X @ W1 + b1)")
            if _close(hidden, (case["z"] - case["params"]["b1"]).clamp(min=0), rtol, atol):
                _fail(f"{name}: hidden is missing the bias b1: hidden = max(0, X @ W1 + b1)")
            error = _rel_error(hidden, case["hidden"])
            _fail(f"{name}: hidden is wrong (relative error {error:.1e}): hidden = "
                  f"max(0, X @ W1 + b1)")
        if not _close(scores, case["scores"], rtol, atol):
            W2, b2 = case["params"]["W2"], case["params"]["b2"]
            if _close(scores, case["z"] @ W2 + b2, rtol, atol):
                _fail(f"{name}: scores must be computed from the hidden layer after the ReLU")
            if _close(scores, case["hidden"] @ W2, rtol, atol):
                _fail(f"{name}: scores are missing the bias b2: scores = hidden @ W2 + b2")
            error = _rel_error(scores, case["scores"])
            _fail(f"{name}: scores are wrong (relative error {error:.1e}): scores = "
                  f"hidden @ W2 + b2")


def _diagnose_data_loss(value, pieces, N, when):
    """Fail with the likely cause when the data loss (reg = 0) is wrong; ``when`` qualifies it."""
    name = "nn_forward_backward"
    data, lnC = pieces["data"], pieces["lnC"]
    if _isclose(value, N * data, rel_tol=1e-3):
        _fail(f"{name}: the loss{when} is N times too large: average the per-sample losses "
              f"(divide their sum by N)")
    if _isclose(value, lnC, rel_tol=1e-3):
        _fail(f"{name}: the loss{when} equals ln(C) whatever the scores: does your max shift "
              f"replace the scores instead of subtracting the row maximum?")
    if _isclose(value, data / N, rel_tol=1e-3):
        _fail(f"{name}: the loss{when} is divided by N twice")
    _fail(f"{name}: the loss{when} is wrong (relative error {abs(value - data) / data:.1e}): "
          f"it is the mean over the samples of -log(softmax(scores)[y])")


def check_loss(nn_forward_backward, device=None):
    """Scores for y=None, then the loss at reg=0 and at reg=0.1, with the cause of a mismatch."""
    device = _setup(device)
    name, case = "nn_forward_backward", _LOSS_CASE
    params, X, y = (_move(case[k], device, _F64) for k in ("params", "X", "y"))
    N, C = _shape(X)[0], case["scores"].shape[1]
    scores = _invoke(name, nn_forward_backward, device, params, X)
    if _isinstance(scores, (_tuple, _list)):
        _fail(f"{name}: with y=None it must return only the scores (N, C), not a tuple")
    _check_tensor(name, "the scores for y=None", scores, (N, C), "(N, C)", device, _F64)
    if not _close(scores, case["scores"], 1e-9, 1e-9):
        _fail(f"{name}: with y=None it returned wrong scores: return the scores of the forward "
              f"pass, hidden @ W2 + b2")
    pieces, reg = case["pieces"], case["reg"]
    loss0 = _loss_value(_fb(nn_forward_backward, device, params, X, y, 0.0)[0], N)
    if not _isclose(loss0, pieces["data"], rel_tol=1e-7, abs_tol=1e-9):
        _diagnose_data_loss(loss0, pieces, N, " (reg=0)")
    loss = _loss_value(_fb(nn_forward_backward, device, params, X, y, reg)[0], N)
    term, regW, regb = loss - loss0, reg * pieces["regW"], reg * pieces["regb"]
    if _isclose(term, regW, rel_tol=1e-7, abs_tol=1e-9):
        return
    causes = ((0.5 * regW, "has a factor 0.5: the loss adds reg * (sum(W1**2) + sum(W2**2)), "
                           "no 1/2"),
              (0.0, "is missing: add reg * (sum(W1**2) + sum(W2**2))"),
              (regW + regb, "includes the biases: only W1 and W2 are regularised"),
              (0.5 * (regW + regb), "includes the biases: only W1 and W2 are regularised, "
                                    "with reg * (...) and no 1/2"),
              (regW / N, "is divided by N: only the data loss is averaged over the samples"),
              (2 * regW, "is twice too large: it is reg * (sum(W1**2) + sum(W2**2))"))
    for value, cause in causes:
        if _isclose(term, value, rel_tol=1e-6, abs_tol=1e-9):
            _fail(f"{name}: the regularisation term {cause}")
    _fail(f"{name}: the regularisation term is wrong (relative error {abs(term - regW) / regW:.1e}"
          f"): it is reg * (sum(W1**2) + sum(W2**2))")


def check_loss_stability(nn_forward_backward, device=None):
    """float32 scores of 1e3 to 1e4: the loss and gradients stay finite and the loss is right."""
    device = _setup(device)
    name = "nn_forward_backward"
    for i, case in enumerate(_STABILITY_CASES):
        params, X, y = (_move(case[k], device, _F32) for k in ("params", "X", "y"))
        loss, grads = _fb(nn_forward_backward, device, params, X, y, 0.0)
        value = _loss_value(loss, _shape(X)[0])
        if not _isfinite_f(value):
            if i == 0:
                _fail(f"{name}: the loss overflows (inf/nan) for large scores: subtract each "
                      f"row's maximum score (scores.max(dim=1, keepdim=True).values) before exp")
            _fail(f"{name}: the loss is inf/nan when the rows' scores are far apart: subtract "
                  f"each row's own maximum (scores.max(dim=1, keepdim=True).values), not the "
                  f"maximum of the whole tensor")
        if not _isclose(value, case["loss"], rel_tol=1e-3, abs_tol=2e-2):
            _diagnose_data_loss(value, case["pieces"], _shape(X)[0], " for large scores")
        _check_grads_dict(grads, params, device, _F32)
        for k in _BACKWARD_ORDER:
            if not _finite(grads[k]):
                _fail(f"{name}: d{k} is inf/nan for large scores: compute the softmax "
                      f"probabilities from the shifted scores too")


def check_grads(nn_forward_backward, device=None):
    """The four gradients against the reference in float64, with a cause per parameter."""
    device = _setup(device)
    name, case = "nn_forward_backward", _GRAD_CASE
    params, X, y = (_move(case[k], device, _F64) for k in ("params", "X", "y"))
    N = _shape(X)[0]
    grads = _fb(nn_forward_backward, device, params, X, y, case["reg"])[1]
    _check_grads_dict(grads, params, device, _F64)
    P, expected = case["pieces"], case["grads"]
    G, R = P["G"], P["R"]

    def close(k, target):
        return _close(grads[k], target, 1e-6, 1e-9)

    if all(close(k, expected[k]) for k in _KEYS):
        return
    regular = {k: R[k] if k[0] == "W" else 0 * R[k] for k in _KEYS}
    if all(close(k, N * G[k] + regular[k]) for k in _KEYS):
        _fail(f"{name}: all gradients are N times too large: divide dscores by N (the loss "
              f"averages over the N samples)")
    if all(close(k, P["uniform"][k] + regular[k]) for k in _KEYS):
        _fail(f"{name}: the gradients are those of a uniform softmax (probabilities 1/C): does "
              f"your max shift replace the scores instead of subtracting the row maximum?")
    for k in _BACKWARD_ORDER:
        if close(k, expected[k]):
            continue
        d, r = f"d{k}", regular[k]
        causes = [(N * G[k] + r, f"{d} is N times too large: divide dscores by N"),
                  (G[k] / N + r, f"{d} is divided by N twice: dscores already includes the 1/N")]
        if k[0] == "W":
            causes += [
                (G[k] + 0.5 * R[k], f"{d}: the regularisation gradient is off by a factor of 2 "
                                    f"(the loss has reg * sum({k}**2), so its gradient is "
                                    f"2 * reg * {k})"),
                (G[k], f"{d}: the regularisation gradient is missing: add 2 * reg * {k}"),
                (G[k] + 2 * R[k], f"{d}: the regularisation gradient is twice too large: it is "
                                  f"2 * reg * {k}"),
                (G[k] + R[k] / N, f"{d}: don't divide the regularisation gradient by N")]
        else:
            causes += [(G[k] + c * R[k], f"{d}: the biases are not regularised: drop the reg "
                                         f"term from {d} (and from the loss)") for c in (1, 0.5)]
        if k in ("W1", "b1"):
            causes += [(P["nomask"][k] + r, f"{d}: the ReLU backward never masks anything: after "
                                            f"the ReLU hidden is never < 0, so zero dhidden where "
                                            f"hidden <= 0 (or keep it where hidden > 0)"),
                       (P["gradmask"][k] + r, f"{d}: the ReLU mask must come from the forward "
                                              f"pass (hidden > 0), not from the sign of the "
                                              f"gradient")]
        for target, cause in causes:
            if close(k, target):
                _fail(cause)
        error = _rel_error(grads[k], expected[k])
        if k in ("W2", "b2"):
            _fail(f"{d} is wrong (relative error {error:.1e}): dscores is the softmax "
                  f"probabilities minus 1 at each correct class, divided by N; dW2 = hidden.T @ "
                  f"dscores + 2 * reg * W2 and db2 = dscores summed over the samples")
        _fail(f"{d} is wrong (relative error {error:.1e}) although dW2 and db2 are right: "
              f"dhidden = dscores @ W2.T, zeroed where hidden <= 0; dW1 = X.T @ dhidden + "
              f"2 * reg * W1 and db1 = dhidden summed over the samples")


def check_backprop(nn_forward_backward, device=None):
    """No autograd anywhere, and a number of torch operations that does not grow with N."""
    device = _setup(device)
    name = "nn_forward_backward"
    params, X, y = (_move(_BACKPROP_CASES[0][k], device, _F64) for k in ("params", "X", "y"))
    if device.type != "cpu":
        _fb(nn_forward_backward, device, params, X, y, 0.1)
    used = []

    def blocked(what):
        def raiser(*args, **kwargs):
            used.append(what)
            raise _AutogradUsed(what)
        return raiser

    saved = (torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad)
    torch.Tensor.backward = blocked("loss.backward()")
    torch.autograd.backward = blocked("torch.autograd.backward")
    torch.autograd.grad = blocked("torch.autograd.grad")
    try:
        out = _invoke(name, nn_forward_backward, device, params, X, y=y, reg=0.1)
    except _AutogradUsed:
        out = None
    finally:
        torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad = saved
    autograd = f"{name} uses autograd ({{}}): write the backward pass by hand"
    if used:
        _fail(autograd.format(f"it calls {used[0]}"))
    if not (_isinstance(out, (_tuple, _list)) and _len(out) == 2):
        _fail(f"{name} must return (loss, grads) when y is given; it returned {_describe(out)}")
    loss, grads = out
    returned = [("the loss", loss)]
    if _isinstance(grads, _dict):
        returned += [(f"d{k}", g) for k, g in grads.items()]
    for what, t in returned:  # objects that only pretend to be tensors prove nothing here
        if not _is_tensor(t):
            _fail(f"{name}: {what} must be a torch.Tensor, got {_describe(t)}")
        if _requires_grad(t) or _grad_fn(t) is not None:
            _fail(autograd.format(f"{what} carries a grad_fn"))
    for k in _KEYS:
        param = params.get(k)
        if _is_tensor(param) and (_requires_grad(param) or _grad_of(param) is not None):
            _fail(autograd.format(f"it sets requires_grad on params['{k}']"))
    counts = []
    for case in _BACKPROP_CASES:
        params, X, y = (_move(case[k], device, _F64) for k in ("params", "X", "y"))
        with _OpCounter() as counter:
            _invoke(name, nn_forward_backward, device, params, X, y=y, reg=0.1)
        counts.append(counter.count)
    (n_small, n_large), sizes = counts, [_len(case["y"]) for case in _BACKPROP_CASES]
    if n_large > 1.5 * n_small + 10:
        _fail(f"{name} loops over the samples in Python (its number of torch operations grows "
              f"with N: {n_small} at N={sizes[0]}, {n_large} at N={sizes[1]}); vectorise it — "
              f"note that Python's sum() over a tensor is such a loop, use torch.sum")


def check_train(nn_train, device=None):
    """The SGD update in place, downhill, with the decayed learning rate, against stand-ins."""
    device = _setup(device)
    name, T = "nn_train", _TRAIN
    n, lr, decay = T["num_iters"], T["learning_rate"], T["decay"]
    params = _move(T["params"], device, _F64)
    seen = []  # per call with labels: (was it the caller's dict?, its values before the step)

    def loss_func(p, X, y=None, reg=0.0):
        if y is None:
            return torch.zeros(X.shape[0], 2, dtype=X.dtype, device=X.device)
        seen.append((p is params, {k: _snapshot(p[k]) for k in _KEYS}))
        t = _min(_len(seen), n) - 1
        return (torch.tensor(T["losses"][t], dtype=_F64, device=device),
                _move(T["grads"][t], device, _F64))

    def pred_func(p, loss_func, X):
        return torch.zeros(X.shape[0], dtype=_I64, device=X.device)

    data = {k: _move(T[k], device, _F64) for k in ("X", "y", "X_val", "y_val")}
    rng_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=rng_devices):
        torch.manual_seed(0)
        out = _invoke(name, nn_train, device, params, loss_func, pred_func, data["X"], data["y"],
                      data["X_val"], data["y_val"], learning_rate=lr, learning_rate_decay=decay,
                      reg=1e-3, num_iters=n, batch_size=T["batch_size"], verbose=False)
    if _len(seen) != n:
        _fail(f"{name} called loss_func {_len(seen)} times for num_iters={n}: keep the "
              f"scaffolding's loop as given")
    if _sorted(params) != _sorted(_KEYS):
        _fail(f"{name} changed the keys of params: update the values of W1, b1, W2, b2 only")
    for k in _KEYS:
        _check_tensor(name, f"params['{k}']", params[k], _tuple(T["params"][k].shape),
                      "its shape before training", device, _F64)
    final = {k: _snapshot(params[k]) for k in _KEYS}
    if all(_equal(final[k], T["params"][k]) for k in _KEYS):
        if _any(not callers for callers, _ in seen[1:]):
            _fail(f"{name} did not update the caller's params: change the tensors in place "
                  f"(params['W1'] -= ...) instead of building a new dict")
        _fail(f"{name} did not change params: update each one, params[name] -= learning_rate * "
              f"grads[name]")
    values = [v for _, v in seen] + [final]
    lr_t, per_epoch = lr, max(T["X"].shape[0] // T["batch_size"], 1)
    for t in range(n):
        for k in _KEYS:
            step, g = _sub(values[t + 1][k], values[t][k]), T["grads"][t][k]
            if _allclose(step, _mul(g, -lr_t), rtol=1e-10, atol=1e-12):
                continue
            if _allclose(step, _mul(g, lr_t), rtol=1e-10, atol=1e-12):
                _fail(f"{name} steps uphill: subtract learning_rate * grad")
            if t > 0 and _allclose(step, _mul(g, -lr), rtol=1e-10, atol=1e-12):
                _fail(f"{name} ignores the learning-rate decay: step with the variable "
                      f"learning_rate, which the scaffolding decays once per epoch")
            if _allclose(step, _mul(g, 0.0), rtol=0.0, atol=1e-12):
                _fail(f"{name} does not update params['{k}'] at every iteration: update each "
                      f"parameter, params[name] -= learning_rate * grads[name]")
            _fail(f"{name}: the update of params['{k}'] is wrong: it should be params['{k}'] -= "
                  f"learning_rate * grads['{k}']")
        if t % per_epoch == 0:
            lr_t *= decay
    if not _isinstance(out, _dict):
        _fail(f"{name} must return the dict of histories, got {_describe(out)}")
    epochs = _len(range(0, n, per_epoch))
    expected = {"loss_history": T["losses"], "train_acc_history": [1.0] * epochs,
                "val_acc_history": [0.5] * epochs}
    for key, want in expected.items():
        got = out.get(key)
        if not _isinstance(got, _list) or _len(got) != _len(want) or not all(
                _isclose(_float(a), b, abs_tol=1e-9) for a, b in zip(got, want)):
            _fail(f"{name}: {key} is not what the scaffolding records (one entry per "
                  f"{'iteration' if key == 'loss_history' else 'epoch'}): keep it as given")


def check_predict(nn_predict, device=None):
    """int64 labels of the highest score, with the reference network as loss_func."""
    device = _setup(device)
    name, case = "nn_predict", _PREDICT_CASE
    params, X = _move(case["params"], device, _F32), _move(case["X"], device, _F32)
    N = _shape(X)[0]
    out = _invoke(name, nn_predict, device, params, _REF_FB, X)
    if _isinstance(out, (_tuple, _list)):
        _fail(f"{name} returned a tuple (values, indices?): return only the labels, "
              f"torch.argmax(scores, dim=1)")
    if _is_tensor(out) and _shape(out) == (N, 1):
        _fail(f"{name}: the labels have shape (N, 1): return shape (N,), without keepdim")
    _check_tensor(name, "y_pred", out, (N,), "(N,)", device, None)
    if _dtype_of(out) != _I64:
        _fail(f"{name}: y_pred is {_dtype_of(out)}: return int64 labels (torch.argmax gives them)")
    labels = _t_to(out, device=_CPU)
    if _equal(labels, case["scores"].argmax(dim=1)):
        return
    if _equal(labels, case["scores"].argmin(dim=1)):
        _fail(f"{name} returns the class with the lowest score: use argmax")
    wrong = _t_item(_tsum(labels != case["scores"].argmax(dim=1)))
    _fail(f"{name}: {wrong} of {N} labels are not the class with the highest score: return "
          f"torch.argmax(scores, dim=1)")
