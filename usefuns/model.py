"""A two-layer net object over the student's functions, and safe checkpoint loading.

The notebook binds its own ``nn_forward_backward``, ``nn_train`` and ``nn_predict`` to
:class:`TwoLayerNet`; the grader binds the reference ones to the same class to grade a submitted
checkpoint. Checkpoints are plain ``{"W1", "b1", "W2", "b2"}`` dicts of CPU tensors, loaded with
``torch.load(..., weights_only=True)`` so a checkpoint can never run code.
"""
from pathlib import Path

import torch

from usefuns.utils import get_device

__all__ = ["PARAM_NAMES", "TwoLayerNet", "load_params", "check_params"]

PARAM_NAMES = ("W1", "b1", "W2", "b2")
MAX_ELEMENTS = 1 << 25  # per tensor of a checkpoint: far above any net of this assignment


def check_params(params, source="params"):
    """Raise ValueError unless ``params`` is exactly W1 (D, H), b1 (H,), W2 (H, C), b2 (C,).

    Args:
        params: the candidate dict.
        source: what to call it in the message (a file name, say).

    Returns:
        (D, H, C), the sizes the shapes agree on.
    """
    if not isinstance(params, dict):
        raise ValueError(f"{source} holds a {type(params).__name__}, not a dict of tensors "
                         f"W1, b1, W2, b2: save net.params (TwoLayerNet.save does).")
    keys = sorted(map(str, params))
    if keys != sorted(PARAM_NAMES):
        raise ValueError(f"{source} has keys {keys}; a two-layer net needs exactly "
                         f"['W1', 'W2', 'b1', 'b2'].")
    for name in PARAM_NAMES:
        value = params[name]
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            raise ValueError(f"{source}: {name} must be a floating-point tensor, not "
                             f"{getattr(value, 'dtype', type(value).__name__)}.")
        if value.numel() > MAX_ELEMENTS or (value.numel() and value.untyped_storage().nbytes()
                                            < value.numel() * value.element_size()):
            raise ValueError(f"{source}: {name} has {value.numel()} elements in "
                             f"{value.untyped_storage().nbytes()} bytes of memory (an expanded "
                             f"view, or over {MAX_ELEMENTS} elements); save real tensors "
                             f"(net.save() does).")
    W1, b1, W2, b2 = (params[name] for name in PARAM_NAMES)
    if W1.dim() != 2 or W2.dim() != 2 or b1.dim() != 1 or b2.dim() != 1:
        raise ValueError(f"{source}: W1 and W2 must be matrices, b1 and b2 vectors; got shapes "
                         f"{[tuple(params[n].shape) for n in PARAM_NAMES]}.")
    D, H = W1.shape
    C = W2.shape[1]
    if b1.shape != (H,) or W2.shape[0] != H or b2.shape != (C,):
        raise ValueError(
            f"{source}: inconsistent shapes W1 {tuple(W1.shape)}, b1 {tuple(b1.shape)}, "
            f"W2 {tuple(W2.shape)}, b2 {tuple(b2.shape)}; expected W1 (D, H), b1 (H,), "
            f"W2 (H, C), b2 (C,).")
    return D, H, C


def load_params(path, device=None, dtype=None):
    """Load and check a checkpoint saved by :meth:`TwoLayerNet.save`.

    Args:
        path: the ``.pt`` file.
        device: where to put the tensors; None means ``get_device()``.
        dtype: their floating dtype; None keeps the saved one.

    Returns:
        dict W1 (D, H), b1 (H,), W2 (H, C), b2 (C,) of float tensors on ``device``.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a PyTorch checkpoint of a two-layer net (the message says
            what is wrong with it).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}: run the search cell, which saves the "
                                f"best model with best_net.save({path.name!r}), and submit the "
                                f"file with the notebook.")
    try:
        params = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch.load fails in many ways on a bad file
        raise ValueError(f"{path.name} is not a readable PyTorch checkpoint of plain tensors "
                         f"(torch.load with weights_only=True refused it: "
                         f"{type(err).__name__}); save it again with net.save().") from err
    check_params(params, source=path.name)
    device = get_device() if device is None else torch.device(device)
    return {name: params[name].to(device=device, dtype=dtype or params[name].dtype)
            for name in PARAM_NAMES}


class TwoLayerNet:
    """A two-layer net whose maths are the functions it is given.

    Args:
        input_size: D. hidden_size: H. output_size: C.
        loss_func: ``(params, X, y=None, reg=0.0)`` -> scores or ``(loss, grads)``.
        pred_func: ``(params, loss_func, X)`` -> int64 labels (N,).
        train_func: ``(params, loss_func, pred_func, X, y, X_val, y_val, **kwargs)`` -> stats.
        dtype: floating dtype of the parameters. device: None means ``get_device()``.
        std: standard deviation of the initial weights; the biases start at zero.

    The weights are drawn on the CPU from PyTorch's global generator (seed it with
    ``usefuns.utils.reset_seed``) and then moved, so the same seed gives the same net on
    every device.
    """

    def __init__(self, input_size, hidden_size, output_size, *, loss_func, pred_func,
                 train_func, dtype=torch.float32, device=None, std=1e-4):
        self.loss_func, self.pred_func, self.train_func = loss_func, pred_func, train_func
        device = get_device() if device is None else torch.device(device)
        drawn = {
            "W1": std * torch.randn(input_size, hidden_size),
            "b1": torch.zeros(hidden_size),
            "W2": std * torch.randn(hidden_size, output_size),
            "b2": torch.zeros(output_size),
        }
        self.params = {k: v.to(device=device, dtype=dtype) for k, v in drawn.items()}

    def loss(self, X, y=None, reg=0.0):
        """Scores (N, C) when ``y`` is None, else ``(loss, grads)``."""
        return self.loss_func(self.params, X, y=y, reg=reg)

    def train(self, X, y, X_val, y_val, **kwargs):
        """Train in place; keyword arguments go to the train function. Returns its stats."""
        return self.train_func(self.params, self.loss_func, self.pred_func, X, y, X_val, y_val,
                               **kwargs)

    def predict(self, X):
        """int64 labels (N,) of the float inputs X (N, D)."""
        return self.pred_func(self.params, self.loss_func, X)

    def accuracy(self, X, y):
        """Fraction (Python float) of the samples X (N, D) whose predicted label equals y (N,)."""
        return (self.predict(X) == y).double().mean().item()

    def save(self, path):
        """Save the parameters as CPU tensors to ``path``."""
        torch.save({k: v.detach().cpu() for k, v in self.params.items()}, path)

    def load(self, path):
        """Replace the parameters with those of ``path``, on this net's device and dtype.

        The dict object stays the same (the train function updates it in place).

        Raises:
            FileNotFoundError, ValueError: as :func:`load_params`.
        """
        current = self.params["W1"]
        loaded = load_params(path, device=current.device, dtype=current.dtype)
        self.params.clear()
        self.params.update(loaded)
        return self
