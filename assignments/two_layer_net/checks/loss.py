"""The softmax loss: its value, its regularisation term, and its stability for large scores."""

from .cases import _LOSS_CASE, _STABILITY_CASES
from .support import (own_forward_first, _BACKWARD_ORDER, _check_tensor, _close, _dict, _F32, _F64,
                      _fail, _fb, _finite, _invoke, _is_tensor, _isclose, _isfinite_f, _isinstance,
                      _list, _loss_value, _move, _setup, _shape, _tuple)

__all__ = ["check_loss", "check_loss_stability"]


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


@own_forward_first
def check_loss(nn_forward_backward, device=None, forward=None):
    """Scores for y=None, then the loss at reg=0 and at reg=0.1, with the cause of a mismatch."""
    device = _setup(device)
    name, case = "nn_forward_backward", _LOSS_CASE
    params, X, y = (_move(case[k], device, _F64) for k in ("params", "X", "y"))
    N, C = _shape(X)[0], case["scores"].shape[1]
    scores = _invoke(name, nn_forward_backward, device, params, X, swaps=forward)
    if _isinstance(scores, (_tuple, _list)):
        _fail(f"{name}: with y=None it must return only the scores (N, C), not a tuple")
    _check_tensor(name, "the scores for y=None", scores, (N, C), "(N, C)", device, _F64)
    if not _close(scores, case["scores"], 1e-9, 1e-9):
        _fail(f"{name}: with y=None it returned wrong scores: return the scores of the forward "
              f"pass, hidden @ W2 + b2")
    pieces, reg = case["pieces"], case["reg"]
    loss0 = _loss_value(_fb(nn_forward_backward, device, params, X, y, 0.0,
                            forward)[0], N)
    if not _isclose(loss0, pieces["data"], rel_tol=1e-7, abs_tol=1e-9):
        _diagnose_data_loss(loss0, pieces, N, " (reg=0)")
    loss = _loss_value(_fb(nn_forward_backward, device, params, X, y, reg,
                           forward)[0], N)
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


@own_forward_first
def check_loss_stability(nn_forward_backward, device=None, forward=None):
    """float32 scores of 1e3 to 1e4: the loss and gradients stay finite and the loss is right.

    Only the gradients that are there are looked at (finite or not): their keys, shapes and
    values are ``check_grads``'s to judge, so a gradient bug costs grads points only.
    """
    device = _setup(device)
    name = "nn_forward_backward"
    for i, case in enumerate(_STABILITY_CASES):
        params, X, y = (_move(case[k], device, _F32) for k in ("params", "X", "y"))
        loss, grads = _fb(nn_forward_backward, device, params, X, y, 0.0, forward)
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
        for k in _BACKWARD_ORDER if _isinstance(grads, _dict) else ():
            if _is_tensor(grads.get(k)) and not _finite(grads[k]):
                _fail(f"{name}: d{k} is inf/nan for large scores: compute the softmax "
                      f"probabilities from the shifted scores too")
