"""Seeds, the device to run on, and deterministic numerics.

``get_device()`` picks CUDA when PyTorch sees a GPU and the CPU otherwise; the environment
variable ``USEFUNS_DEVICE`` (``cpu``, ``cuda`` or ``cuda:1``...) forces a choice, so a grader
can pin a worker to one GPU or test the CPU path on a GPU machine. ``USEFUNS_CUDA_MEMORY_FRACTION``
(a number in (0, 1]) caps the share of the GPU's memory that this process may take, so that
several grading kernels can share one GPU.
"""
import os
import random

import torch

__all__ = ["DEVICE_ENV", "MEMORY_FRACTION_ENV", "reset_seed", "get_device", "set_deterministic"]

DEVICE_ENV = "USEFUNS_DEVICE"
MEMORY_FRACTION_ENV = "USEFUNS_CUDA_MEMORY_FRACTION"


def reset_seed(number):
    """Seed Python's, PyTorch's (CPU and every GPU) and, if installed, NumPy's generators."""
    random.seed(number)
    torch.manual_seed(number)
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is in requirements.txt
        return
    np.random.seed(number)


def get_device():
    """The ``torch.device`` to compute on.

    ``USEFUNS_DEVICE`` wins when set; otherwise ``cuda`` when ``torch.cuda.is_available()``
    (note the call: the original notebook's ``if torch.cuda.is_available:`` was always true),
    else ``cpu``.

    Raises:
        ValueError: ``USEFUNS_DEVICE`` names something PyTorch cannot parse, or a CUDA device
            on a machine without one.
    """
    forced = os.environ.get(DEVICE_ENV, "").strip()
    if forced:
        try:
            device = torch.device(forced)
        except RuntimeError as err:
            raise ValueError(
                f"{DEVICE_ENV}={forced!r} is not a device name; use 'cpu', 'cuda' or 'cuda:N'."
            ) from err
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"{DEVICE_ENV}={forced!r} asks for CUDA, but PyTorch sees no GPU here; "
                f"unset {DEVICE_ENV} or set it to 'cpu'.")
    else:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        _apply_memory_fraction(device)
    return device


def _apply_memory_fraction(device):
    """Cap this process's share of ``device``'s memory when ``USEFUNS_CUDA_MEMORY_FRACTION`` is set."""
    text = os.environ.get(MEMORY_FRACTION_ENV, "").strip()
    if not text:
        return
    try:
        fraction = float(text)
    except ValueError:
        fraction = -1.0
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"{MEMORY_FRACTION_ENV}={text!r} must be a number in (0, 1], "
                         f"e.g. 0.25 for four kernels sharing one GPU; or unset it.")
    index = device.index if device.index is not None else torch.cuda.current_device()
    torch.cuda.set_per_process_memory_fraction(fraction, index)


def set_deterministic():
    """Make numeric checks repeatable: TF32 off for CUDA matmuls and cuDNN convolutions.

    With TF32 on (the default for cuDNN), float32 products on Ampere and newer GPUs keep only
    10 mantissa bits and a gradient check fails for reasons that have nothing to do with the
    student's code. Safe to call without a GPU.
    """
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = False
