"""Prediction: int64 labels of the highest score, with the reference as loss_func."""

from .cases import (_PREDICT_CASE, _REF_FB)
from .support import (_CPU, _F32, _I64, _check_tensor, _dtype_of, _equal, _fail, _invoke,
                      _is_tensor, _isinstance, _list, _move, _setup, _shape, _t_item, _t_to, _tsum,
                      _tuple)

__all__ = ["check_predict"]


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
