"""The forward pass: scores and the post-ReLU hidden layer on fresh shapes and dtypes."""

from .cases import _FORWARD_CASES
from .support import (_amax, _check_tensor, _check_unchanged, _close, _cpu64, _describe, _fail,
                      _invoke, _isinstance, _len, _list, _move, _mul, _rel_error, _setup, _shape,
                      _t_item, _tuple)

__all__ = ["check_forward"]


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
