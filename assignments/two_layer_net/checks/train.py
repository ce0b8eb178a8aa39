"""The SGD update inside nn_train, against stand-in loss and prediction functions."""
import torch

from .cases import _TRAIN
from .support import (_F64, _I64, _KEYS, _allclose, _any, _check_tensor, _describe, _dict, _equal,
                      _fail, _float, _invoke, _isclose, _isinstance, _len, _list, _min, _move, _mul,
                      _setup, _snapshot, _sorted, _sub, _tuple)

__all__ = ["check_train"]


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
