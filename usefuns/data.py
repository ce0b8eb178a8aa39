"""Toy data, minibatches, and the two image data sets (8x8 digits offline, CIFAR-10 on disk).

Letters used for shapes: N samples, D input dimension, H hidden units, C classes.

``load_dataset("digits")`` needs nothing but scikit-learn (imported only when called).
``load_dataset("cifar10")`` reads the official python-version folder ``cifar-10-batches-py``
from ``root=``, else from the folder named by ``$USEFUNS_DATA``, else from ``~/.cache/usefuns``.
"""
import os
import pickle
from pathlib import Path

import torch

from usefuns.utils import get_device

__all__ = ["CIFAR_URL", "DATA_ENV", "DATASETS", "get_toy_data", "sample_batch", "load_dataset"]

CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
DATA_ENV = "USEFUNS_DATA"
DATASETS = ("digits", "cifar10")
_CIFAR_DIR = "cifar-10-batches-py"
_CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_FILES = _CIFAR_TRAIN + ("test_batch", "batches.meta")


def get_toy_data(num_inputs=5, input_size=4, hidden_size=10, num_classes=3,
                 dtype=torch.float32, device=None, std=1e-4):
    """A tiny problem and network for checking a two-layer net by hand (as EECS 498 A2).

    Drawn on the CPU in float32 from a local ``torch.Generator`` seeded with 0, in this fixed
    order, then moved with ``.to(device=device, dtype=dtype)``::

        W1 = std * randn(D, H);  W2 = std * randn(H, C);  X = 10 * randn(N, D)
        b1 = zeros(H);  b2 = zeros(C);  y = [0, 1, 2, 2, 1]  (else arange(N) % C)

    So the values are the same on every device, the float64 version holds exactly the float32
    values, and the global random state is left alone.

    Args:
        num_inputs: N. input_size: D. hidden_size: H. num_classes: C.
        dtype: Floating dtype of X and the parameters.
        device: Where to put the tensors; None means ``usefuns.utils.get_device()``.
        std: Standard deviation of the weights.

    Returns:
        ``(X, y, params)``: X float (N, D); y int64 (N,) with values in [0, C);
        params dict of W1 float (D, H), b1 float (H,), W2 float (H, C), b2 float (C,).
    """
    for label, value in [("num_inputs", num_inputs), ("input_size", input_size),
                         ("hidden_size", hidden_size), ("num_classes", num_classes)]:
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{label} must be a positive int, got {value!r}.")
    _check_float_dtype(dtype)
    device = get_device() if device is None else torch.device(device)
    N, D, H, C = num_inputs, input_size, hidden_size, num_classes
    g = torch.Generator(device="cpu").manual_seed(0)
    W1 = std * torch.randn(D, H, generator=g)
    W2 = std * torch.randn(H, C, generator=g)
    X = 10.0 * torch.randn(N, D, generator=g)
    y = torch.tensor([0, 1, 2, 2, 1]) if (N, C) == (5, 3) else torch.arange(N) % C
    params = {"W1": W1, "b1": torch.zeros(H), "W2": W2, "b2": torch.zeros(C)}
    params = {k: v.to(device=device, dtype=dtype) for k, v in params.items()}
    return X.to(device=device, dtype=dtype), y.to(device=device, dtype=torch.int64), params


def sample_batch(X, y, num_train, batch_size):
    """A minibatch drawn with replacement from the first ``num_train`` samples.

    ``idx = torch.randint(num_train, (batch_size,), device=X.device)`` from the global
    generator of X's device (seed it with ``usefuns.utils.reset_seed``).

    Args:
        X: Float tensor (N, D). y: Int64 tensor (N,).
        num_train: How many leading samples to draw from (at most N).
        batch_size: B, the minibatch size.

    Returns:
        ``(X_batch, y_batch)``: float (B, D) and int64 (B,), on X's device.
    """
    if not 1 <= num_train <= X.shape[0]:
        raise ValueError(f"num_train={num_train} must be between 1 and X.shape[0]={X.shape[0]}.")
    idx = torch.randint(num_train, (batch_size,), device=X.device)
    return X[idx], y[idx]


def load_dataset(name="digits", root=None, num_train=None, num_val=None, num_test=None,
                 dtype=torch.float32, device=None, seed=0):
    """Load, split and preprocess an image classification data set.

    Preprocessing: pixels scaled to [0, 1] (digits are 0..16, CIFAR 0..255), images flattened
    to rows of D values (channels first for CIFAR, as stored), then ``mean`` subtracted from
    every split, where ``mean`` comes from the training split only: per feature (pixel) for
    digits, per colour channel for CIFAR-10 (as EECS 498). ``X + mean`` gives the images back.

    Splits (deterministic, disjoint):
        * ``"digits"``: scikit-learn's 1797 8x8 images, permuted with ``torch.randperm`` from a
          ``torch.Generator`` seeded with ``seed``: test = perm[:300], val = perm[300:600],
          train = the remaining 1197. Subsampling train leaves val and test unchanged.
        * ``"cifar10"``: train = the first 40000 of the 50000 images of data_batch_1..5 (in
          file order, which is random), val = the last 10000, test = the 10000 of test_batch.
          ``seed`` is unused. Defaults follow EECS 498 A2.

    Args:
        name: One of ``DATASETS``: ``"digits"`` or ``"cifar10"``.
        root: CIFAR-10 only: the ``cifar-10-batches-py`` folder or its parent. Default:
            ``$USEFUNS_DATA``, else ``~/.cache/usefuns``.
        num_train: Training samples; default all that remain after val (and, for digits, test).
        num_val: Validation samples; default 300 (digits), 10000 (CIFAR-10).
        num_test: Test samples; default 300 (digits), 10000 (CIFAR-10).
        dtype: Floating dtype of the images. device: None means ``get_device()``.
        seed: Seed of the digits permutation.

    Returns:
        dict with ``X_train``, ``X_val``, ``X_test``: float (N_split, D), D = 64 or 3072;
        ``y_train``, ``y_val``, ``y_test``: int64 (N_split,); ``mean``: float (D,);
        ``image_shape``: (8, 8) or (3, 32, 32); ``class_names``: list of C str;
        ``indices``: dict train/val/test of int64 CPU tensors (N_split,), positions in the
        source (digits: the 1797 images; CIFAR: train and val in the 50000 training images,
        test in test_batch).

    Raises:
        ValueError: Unknown name, or split sizes that don't fit.
        FileNotFoundError: CIFAR-10 files not found; the message says where to get them.
    """
    key = str(name).lower()
    if key not in DATASETS:
        raise ValueError(f"Unknown data set {name!r}; known names: {', '.join(DATASETS)}.")
    _check_float_dtype(dtype)
    device = get_device() if device is None else torch.device(device)
    if key == "digits":
        parts = _load_digits(num_train, num_val, num_test, seed)
    else:
        parts = _load_cifar10(root, num_train, num_val, num_test)
    raw, labels, indices, scale, groups, image_shape, class_names = parts
    n_train, D = raw["train"].shape
    if n_train < 1:
        raise ValueError("num_train must be at least 1: the mean comes from the training split.")
    # Mean of the training split, exact from integer pixel sums; groups of pixels share a mean.
    sums = raw["train"].reshape(n_train, groups, D // groups).sum(dim=(0, 2), dtype=torch.int64)
    mean = (sums.double() / (n_train * (D // groups) * scale)).repeat_interleave(D // groups)
    mean = mean.to(dtype)  # (D,)
    out = {}
    for split in ("train", "val", "test"):
        X = raw[split].to(dtype).div_(scale).sub_(mean)  # (N_split, D)
        out[f"X_{split}"] = X.to(device)
        out[f"y_{split}"] = labels[split].to(device=device, dtype=torch.int64)
    out.update(mean=mean.to(device), image_shape=image_shape, class_names=class_names,
               indices=indices)
    return out


def _load_digits(num_train, num_val, num_test, seed):
    from sklearn.datasets import load_digits  # lazy: keeps `import usefuns` cheap

    digits = load_digits()
    images = torch.from_numpy(digits.data).to(torch.int64)  # (1797, 64), values 0..16
    targets = torch.from_numpy(digits.target).to(torch.int64)
    total = images.shape[0]
    num_val = 300 if num_val is None else num_val
    num_test = 300 if num_test is None else num_test
    num_train = _split_size(num_train, total, num_val, num_test)
    perm = torch.randperm(total, generator=torch.Generator().manual_seed(seed))
    indices = {"test": perm[:num_test], "val": perm[num_test:num_test + num_val],
               "train": perm[num_test + num_val:num_test + num_val + num_train]}
    raw = {k: images[v] for k, v in indices.items()}
    labels = {k: targets[v] for k, v in indices.items()}
    names = [str(c) for c in digits.target_names]
    return raw, labels, indices, 16.0, 64, (8, 8), names


def _load_cifar10(root, num_train, num_val, num_test):
    folder = _find_cifar(root)
    batches = [_unpickle(folder / f) for f in _CIFAR_TRAIN]
    images = torch.cat([_cifar_images(b, f) for b, f in zip(batches, _CIFAR_TRAIN)])
    targets = torch.cat([torch.as_tensor(b[b"labels"], dtype=torch.int64) for b in batches])
    test = _unpickle(folder / "test_batch")
    test_images = _cifar_images(test, "test_batch")
    test_targets = torch.as_tensor(test[b"labels"], dtype=torch.int64)
    total = images.shape[0]  # 50000 in the official files
    num_val = 10000 if num_val is None else num_val
    num_test = test_images.shape[0] if num_test is None else num_test
    if not 0 <= num_test <= test_images.shape[0]:
        raise ValueError(f"num_test={num_test} but test_batch holds {test_images.shape[0]} images.")
    num_train = _split_size(num_train, total, num_val, 0)
    indices = {"train": torch.arange(num_train), "val": torch.arange(total - num_val, total),
               "test": torch.arange(num_test)}
    raw = {"train": images[:num_train], "val": images[total - num_val:],
           "test": test_images[:num_test]}
    labels = {"train": targets[:num_train], "val": targets[total - num_val:],
              "test": test_targets[:num_test]}
    names = [n.decode() if isinstance(n, bytes) else str(n)
             for n in _unpickle(folder / "batches.meta")[b"label_names"]]
    return raw, labels, indices, 255.0, 3, (3, 32, 32), names


def _find_cifar(root):
    """The folder holding the CIFAR-10 batch files; FileNotFoundError with a how-to if none."""
    if root is not None:
        base, source = Path(root).expanduser(), "root="
    elif os.environ.get(DATA_ENV):
        base, source = Path(os.environ[DATA_ENV]).expanduser(), f"${DATA_ENV}"
    else:
        base, source = Path.home() / ".cache" / "usefuns", "the default cache"
    looked = []
    for folder in (base / _CIFAR_DIR, base):
        missing = [f for f in _CIFAR_FILES if not (folder / f).is_file()]
        if not missing:
            return folder
        looked.append(f"{folder} (missing {', '.join(missing)})" if folder.is_dir()
                      else f"{folder} (no such folder)")
    raise FileNotFoundError(
        f"CIFAR-10 not found (from {source}); looked in: {'; '.join(looked)}. "
        f"Download {CIFAR_URL}, extract it (tar xzf cifar-10-python.tar.gz makes the folder "
        f"{_CIFAR_DIR}), then set {DATA_ENV} to the folder that contains {_CIFAR_DIR} "
        f"or pass root= to load_dataset.")


def _unpickle(path):
    with open(path, "rb") as f:
        return pickle.load(f, encoding="bytes")  # the official python-version format


def _cifar_images(batch, filename):
    images = torch.as_tensor(batch[b"data"], dtype=torch.uint8)
    if images.ndim != 2 or images.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{filename}: expected data of shape (n, 3072), got "
                         f"{tuple(images.shape)}; is this the python version of CIFAR-10?")
    return images  # (n, 3072): 1024 red, 1024 green, 1024 blue, each 32x32 row-major


def _split_size(num_train, total, num_val, num_test):
    """num_train (default: all that num_val and num_test leave), all checked against total."""
    for label, value in {"num_val": num_val, "num_test": num_test}.items():
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"{label} must be a non-negative int, got {value!r}.")
    if num_train is None:
        num_train = max(total - num_val - num_test, 0)
    elif not isinstance(num_train, int) or num_train < 0:
        raise ValueError(f"num_train must be a non-negative int, got {num_train!r}.")
    if num_train + num_val + num_test > total or num_val + num_test >= total:
        raise ValueError(f"num_train + num_val + num_test = {num_train}+{num_val}+{num_test} "
                         f"exceeds the {total} images available (and train needs at least "
                         "one); pass smaller num_val, num_test or num_train.")
    return num_train


def _check_float_dtype(dtype):
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise ValueError(f"dtype must be a floating torch dtype such as torch.float32, "
                         f"got {dtype!r}.")
