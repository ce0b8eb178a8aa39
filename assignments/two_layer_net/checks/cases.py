"""The hidden inputs of the checks and what the reference makes of them (CPU, float64).

Every input is drawn on the CPU from a seeded ``torch.Generator`` and the expected values are
computed once, at import, with ``reference.py`` (loaded by path), so nothing depends on the
device the student's code runs on.
"""
import importlib.util
from pathlib import Path

import torch

from .support import (_F32, _F64, _I64, _KEYS, _log)

_spec = importlib.util.spec_from_file_location(
    "_tln_reference", Path(__file__).resolve().parents[1] / "reference.py")
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)
_REF_FORWARD, _REF_FB = reference.nn_forward_pass, reference.nn_forward_backward
# The checks of nn_forward_backward run it with the reference forward pass in place of the
# student's (the scaffolding calls nn_forward_pass inside it): a forward bug costs forward points
# only. A student who computes the forward pass inside nn_forward_backward is tested on it.
FORWARD_STAND_IN = {"nn_forward_pass": _REF_FORWARD}


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

