"""Figures for the notebook: training curves, first-layer weights, example images.

Every function returns a ``matplotlib.figure.Figure`` built with the object-oriented API (no
pyplot: nothing is shown, nothing accumulates in pyplot's figure list); a notebook shows it as
the cell's value or with ``display(fig)`` (as a PNG, with or without ``%matplotlib inline``),
a script saves it with ``fig.savefig(path)``.
matplotlib is imported when a figure is first made, so ``import usefuns`` stays cheap.

Letters: N samples, D input dimension (pixels), H hidden units, C classes.
"""
import functools
import io
import math

import torch

__all__ = ["plot_stats", "plot_acc_curves", "plot_search_heatmap", "show_net_weights",
           "show_examples"]

_STATS_KEYS = ("loss_history", "train_acc_history", "val_acc_history")


def plot_stats(stats):
    """Loss per iteration (left) and train/val accuracy per epoch (right).

    Args:
        stats: dict as returned by ``nn_train``: ``loss_history`` (one loss per iteration),
            ``train_acc_history`` and ``val_acc_history`` (one accuracy per epoch); each a
            list of numbers or 0-dim tensors, or a 1-D tensor.

    Returns:
        Figure with 2 axes: 1 line on the first, 2 lines (train, val) on the second.
    """
    stats = _check_stats(stats, "stats")
    fig = _figure(figsize=(12, 4))
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(stats["loss_history"])
    ax_loss.set(title="Loss history", xlabel="Iteration", ylabel="Loss")
    ax_acc.plot(stats["train_acc_history"], "o-", label="train")
    ax_acc.plot(stats["val_acc_history"], "o-", label="val")
    ax_acc.set(title="Classification accuracy history", xlabel="Epoch", ylabel="Accuracy")
    ax_acc.legend()
    _integer_ticks(ax_acc)
    return fig


def plot_acc_curves(stats_by_label):
    """Train accuracy (left) and val accuracy (right) per epoch, one line per run.

    Args:
        stats_by_label: dict mapping a label (e.g. ``"hidden 128"``) to that run's stats dict
            (see ``plot_stats``).

    Returns:
        Figure with 2 axes, each with one line per label and a legend.
    """
    if not isinstance(stats_by_label, dict) or not stats_by_label:
        raise ValueError("stats_by_label must be a non-empty dict mapping a label to the "
                         "stats dict that nn_train returned for that run.")
    checked = {label: _check_stats(s, f"stats_by_label[{label!r}]")
               for label, s in stats_by_label.items()}
    fig = _figure(figsize=(12, 4))
    axes = fig.subplots(1, 2)
    for ax, key, title in zip(axes, ("train_acc_history", "val_acc_history"),
                              ("Train accuracy", "Validation accuracy")):
        for label, stats in checked.items():
            ax.plot(stats[key], "o-", label=str(label))
        ax.set(title=title, xlabel="Epoch", ylabel="Accuracy")
        ax.legend()
        _integer_ticks(ax)
    return fig


def show_net_weights(W1, image_shape, padding=1):
    """Each hidden unit's incoming weights as an image, tiled into a grid.

    Column h of ``W1`` is reshaped to ``image_shape`` and scaled to [0, 1] on its own:
    ``(w - min(w)) / (max(w) - min(w))`` (a constant column becomes 0). 2-D shapes are shown
    in gray, ``(3, h, w)`` shapes as RGB (moved to channels last).

    Args:
        W1: Float tensor (D, H) on any device, D = prod(image_shape).
        image_shape: ``(h, w)``, ``(1, h, w)`` or ``(3, h, w)``, e.g. (8, 8) or (3, 32, 32).
        padding: Pixels of white between the tiles.

    Returns:
        Figure with 1 axes holding 1 image.
    """
    W1 = _check_float_tensor(W1, "W1", ndim=2)
    shape = _check_image_shape(image_shape)
    D, H = W1.shape
    if D != math.prod(shape):
        raise ValueError(f"W1 has D={D} rows but image_shape {tuple(image_shape)} has "
                         f"{math.prod(shape)} pixels; pass W1 of shape (D, H), not (H, D).")
    images = _to_images(W1.detach().to("cpu", torch.float64).T, shape)  # (H, h, w[, 3])
    lo = images.amin(dim=tuple(range(1, images.ndim)), keepdim=True)
    hi = images.amax(dim=tuple(range(1, images.ndim)), keepdim=True)
    images = (images - lo) / (hi - lo).clamp(min=1e-12)
    grid = _tile(images, math.ceil(math.sqrt(H)), padding)
    fig = _figure(figsize=(6, 6))
    ax = fig.subplots()
    _imshow(ax, grid)
    ax.set_title(f"First-layer weights ({H} hidden units)")
    return fig


def show_examples(X, y, image_shape, class_names, mean=None, per_class=5):
    """The first ``per_class`` images of each class, one row of images per class.

    With ``mean`` the images are ``X + mean`` clipped to [0, 1] (undoing ``load_dataset``'s
    preprocessing); without it each image is scaled to [0, 1] on its own.

    Args:
        X: Float tensor (N, D) on any device, D = prod(image_shape).
        y: Integer tensor (N,) of labels in [0, C).
        image_shape: ``(h, w)``, ``(1, h, w)`` or ``(3, h, w)``.
        class_names: C names, one per class (row).
        mean: Optional float tensor (D,), the mean subtracted from X.
        per_class: Images per class (columns).

    Returns:
        Figure with C axes, one image on each, labelled with the class name.
    """
    X = _check_float_tensor(X, "X", ndim=2)
    if not isinstance(y, torch.Tensor) or y.dtype.is_floating_point or y.dtype.is_complex \
            or y.dtype == torch.bool:
        got = y.dtype if isinstance(y, torch.Tensor) else type(y).__name__
        raise TypeError(f"y must be an integer tensor (torch.int64) of class labels, got {got}.")
    shape = _check_image_shape(image_shape)
    N, D = X.shape
    C = len(class_names)
    if y.shape != (N,):
        raise ValueError(f"y has shape {tuple(y.shape)} but X has N={N} rows; "
                         "need y of shape (N,).")
    if D != math.prod(shape):
        raise ValueError(f"X has D={D} columns but image_shape {tuple(image_shape)} has "
                         f"{math.prod(shape)} pixels.")
    if N and (y.min() < 0 or y.max() >= C):
        raise ValueError(f"labels must lie in [0, {C}) for {C} class_names, got "
                         f"{y.min().item()}..{y.max().item()}.")
    if not isinstance(per_class, int) or per_class < 1:
        raise ValueError(f"per_class must be a positive int, got {per_class!r}.")
    X = X.detach().to("cpu", torch.float64)
    y = y.detach().cpu()
    if mean is not None:
        mean = _check_float_tensor(mean, "mean", ndim=1)
        if mean.shape != (D,):
            raise ValueError(f"mean has shape {tuple(mean.shape)}; need ({D},) like a row of X.")
        X = (X + mean.detach().to("cpu", torch.float64)).clamp(0, 1)
    fig = _figure(figsize=(per_class * 1.2, C * 1.2))
    axes = fig.subplots(C, 1, squeeze=False)[:, 0]
    for c, ax in enumerate(axes):
        images = _to_images(X[y == c][:per_class], shape)  # (n_c, h, w[, 3])
        if mean is None and len(images):
            flat = images.reshape(len(images), -1)
            lo, hi = flat.amin(1), flat.amax(1)
            scaled = (flat - lo[:, None]) / (hi - lo).clamp(min=1e-12)[:, None]
            images = scaled.reshape(images.shape)
        blank = torch.ones((per_class - len(images),) + images.shape[1:], dtype=images.dtype)
        _imshow(ax, _tile(torch.cat([images, blank]), per_class, padding=1))
        ax.set_ylabel(str(class_names[c]), rotation=0, ha="right", va="center")
    return fig


def plot_search_heatmap(search_results):
    """Validation accuracy per learning rate (rows) and regularisation strength (columns).

    Each cell shows the best accuracy over the other hyperparameters (hidden size, decay).

    Args:
        search_results: dict ``(learning_rate, hidden_size, reg, decay)`` -> validation
            accuracy (float in [0, 1]), as ``find_best_net`` records it.

    Returns:
        Figure with 1 axes holding the heatmap, a colour bar and the accuracy in every cell.
    """
    if not isinstance(search_results, dict) or not search_results:
        raise ValueError("search_results must be a non-empty dict (learning_rate, hidden_size, "
                         "reg, decay) -> validation accuracy, as find_best_net records it.")
    if not all(isinstance(k, tuple) and len(k) == 4 for k in search_results):
        raise ValueError("every key of search_results must be a tuple (learning_rate, "
                         "hidden_size, reg, decay).")
    lrs = sorted({k[0] for k in search_results})
    regs = sorted({k[2] for k in search_results})
    best = torch.full((len(lrs), len(regs)), float("nan"))
    for (lr, _, reg, _), acc in search_results.items():
        i, j = lrs.index(lr), regs.index(reg)
        best[i, j] = float(acc) if best[i, j].isnan() else max(best[i, j].item(), float(acc))
    fig = _figure(figsize=(1.2 * len(regs) + 3, 0.8 * len(lrs) + 2))
    ax = fig.subplots()
    image = ax.imshow(best.numpy(), cmap="viridis", aspect="auto")
    fig.colorbar(image, ax=ax, label="best validation accuracy")
    ax.set_xticks(range(len(regs)), [f"{r:g}" for r in regs])
    ax.set_yticks(range(len(lrs)), [f"{r:g}" for r in lrs])
    ax.set(xlabel="regularisation strength", ylabel="learning rate",
           title="Search: validation accuracy")
    for i in range(len(lrs)):
        for j in range(len(regs)):
            if not best[i, j].isnan():
                ax.text(j, i, f"{best[i, j]:.1%}", ha="center", va="center", color="white")
    return fig


def _figure(**kwargs):
    return _figure_class()(layout="constrained", **kwargs)


@functools.cache
def _figure_class():
    from matplotlib.figure import Figure  # lazy: keeps `import usefuns` cheap

    class NotebookFigure(Figure):
        """A Figure that Jupyter shows as a PNG even if pyplot was never imported."""

        def _repr_png_(self):
            buf = io.BytesIO()
            self.savefig(buf, format="png", bbox_inches="tight")
            return buf.getvalue()

    return NotebookFigure


def _integer_ticks(ax):
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers


def _imshow(ax, image):
    if image.ndim == 2:
        ax.imshow(image.numpy(), cmap="gray", vmin=0.0, vmax=1.0)
    else:
        ax.imshow(image.numpy())
    ax.set_xticks([])
    ax.set_yticks([])


def _to_images(rows, shape):
    """Float (n, D) rows as (n, h, w) gray or (n, h, w, 3) RGB images."""
    images = rows.reshape((rows.shape[0],) + shape)
    if len(shape) == 3:
        images = images[:, 0] if shape[0] == 1 else images.permute(0, 2, 3, 1)
    return images


def _tile(images, ncols, padding):
    """(n, h, w[, 3]) images in [0, 1] as one grid image, white between tiles."""
    n, h, w = images.shape[:3]
    nrows = max(math.ceil(n / ncols), 1)
    grid = torch.ones((nrows * (h + padding) - padding, ncols * (w + padding) - padding)
                      + images.shape[3:], dtype=images.dtype)
    for k in range(n):
        r, c = divmod(k, ncols)
        grid[r * (h + padding):r * (h + padding) + h, c * (w + padding):c * (w + padding) + w] \
            = images[k]
    return grid


def _check_stats(stats, label):
    if not isinstance(stats, dict):
        raise ValueError(f"{label} must be the dict that nn_train returns, got "
                         f"{type(stats).__name__}.")
    missing = [k for k in _STATS_KEYS if k not in stats]
    if missing:
        raise ValueError(f"{label} is missing {', '.join(missing)}; it needs the keys "
                         f"{', '.join(_STATS_KEYS)} (as nn_train returns).")
    return {k: [float(v) for v in stats[k]] for k in _STATS_KEYS}


def _check_float_tensor(t, label, ndim):
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{label} must be a torch.Tensor, got {type(t).__name__}.")
    if not t.is_floating_point():
        raise ValueError(f"{label} must be a floating-point tensor, got {t.dtype}.")
    if t.ndim != ndim:
        raise ValueError(f"{label} must have {ndim} dimensions, got shape {tuple(t.shape)}.")
    return t


def _check_image_shape(image_shape):
    shape = tuple(image_shape)
    ok = all(isinstance(s, int) and s > 0 for s in shape) and (
        len(shape) == 2 or (len(shape) == 3 and shape[0] in (1, 3)))
    if not ok:
        raise ValueError("image_shape must be (h, w), (1, h, w) or (3, h, w), "
                         f"got {image_shape!r}.")
    return shape
