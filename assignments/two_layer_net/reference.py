"""Reference implementation of the two-layer-net assignment (instructor only, never released).

The hidden tests compare students' answers with these functions, and the source notebook's
solution cells implement the same maths. Conventions (stated in the notebook too):

- Letters: N samples, D input dimension, H hidden units, C classes.
- Network: ``scores = relu(X @ W1 + b1) @ W2 + b2``.
- Loss: mean softmax cross-entropy over the N samples plus
  ``reg * (sum(W1**2) + sum(W2**2))``: no 1/2 factor, biases not regularised.
- The row maximum is subtracted from the scores before ``exp``.
- Device and dtype come from the inputs; nothing here moves or casts tensors.
"""
import itertools

import torch

from usefuns.model import TwoLayerNet
from usefuns.utils import reset_seed

__all__ = ["nn_forward_pass", "nn_forward_backward", "sgd_step", "nn_predict",
           "nn_train", "nn_get_search_params", "find_best_net"]

SEARCH_ITERS = 1000  # training iterations of every network in the search (the notebook's)


def nn_forward_pass(params, X):
    """Forward pass of the two-layer net.

    Args:
        params: dict with ``W1`` (D, H), ``b1`` (H,), ``W2`` (H, C), ``b2`` (C,), float.
        X: float tensor (N, D) on the parameters' device and dtype.

    Returns:
        scores: float tensor (N, C), ``hidden @ W2 + b2``.
        hidden: float tensor (N, H), ``relu(X @ W1 + b1)``.
    """
    hidden = (X @ params["W1"] + params["b1"]).clamp(min=0)  # (N, H)
    scores = hidden @ params["W2"] + params["b2"]  # (N, C)
    return scores, hidden


def nn_forward_backward(params, X, y=None, reg=0.0):
    """Softmax loss and its gradients by hand-written backpropagation.

    Args:
        params: as in :func:`nn_forward_pass`.
        X: float tensor (N, D).
        y: int64 tensor (N,) of labels in ``[0, C)``, or None for scores only.
        reg: regularisation strength (float).

    Returns:
        scores (N, C) when ``y`` is None, else ``(loss, grads)``: ``loss`` a 0-dim float tensor,
        ``grads`` a dict with ``W1, b1, W2, b2`` shaped like the parameters.
    """
    W1, W2 = params["W1"], params["W2"]
    scores, hidden = nn_forward_pass(params, X)
    if y is None:
        return scores
    N = X.shape[0]
    shifted = scores - scores.max(dim=1, keepdim=True).values  # (N, C)
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()  # (N, C)
    rows = torch.arange(N, device=X.device)
    loss = -log_probs[rows, y].mean() + reg * ((W1 * W1).sum() + (W2 * W2).sum())

    dscores = log_probs.exp()  # softmax probabilities, (N, C)
    dscores[rows, y] -= 1
    dscores /= N
    grads = {
        "W2": hidden.t() @ dscores + 2 * reg * W2,  # (H, C)
        "b2": dscores.sum(dim=0),  # (C,)
    }
    dhidden = dscores @ W2.t()  # (N, H)
    dhidden = dhidden * (hidden > 0)
    grads["W1"] = X.t() @ dhidden + 2 * reg * W1  # (D, H)
    grads["b1"] = dhidden.sum(dim=0)  # (H,)
    return loss, grads


def sgd_step(params, grads, learning_rate):
    """One vanilla SGD step, updating the tensors of ``params`` in place."""
    for name, grad in grads.items():
        params[name] -= learning_rate * grad


def nn_predict(params, loss_func, X):
    """Labels (int64, (N,)) of the highest score that ``loss_func(params, X)`` gives each row."""
    return torch.argmax(loss_func(params, X), dim=1)


def nn_train(params, loss_func, pred_func, X, y, X_val, y_val, learning_rate=1e-3,
             learning_rate_decay=0.95, reg=5e-6, num_iters=100, batch_size=200, verbose=False):
    """Minibatch SGD, the notebook's scaffolding with the reference update (see the notebook).

    Returns a dict with ``loss_history`` (num_iters floats) and ``train_acc_history`` /
    ``val_acc_history`` (one float per epoch).
    """
    num_train = X.shape[0]
    iterations_per_epoch = max(num_train // batch_size, 1)
    loss_history, train_acc_history, val_acc_history = [], [], []
    for it in range(num_iters):
        idx = torch.randint(num_train, (batch_size,), device=X.device)
        X_batch, y_batch = X[idx], y[idx]
        loss, grads = loss_func(params, X_batch, y=y_batch, reg=reg)
        loss_history.append(loss.item())
        sgd_step(params, grads, learning_rate)
        if verbose and it % 100 == 0:
            print(f"iteration {it} / {num_iters}: loss {loss.item():f}")
        if it % iterations_per_epoch == 0:
            y_train_pred = pred_func(params, loss_func, X_batch)
            train_acc_history.append((y_train_pred == y_batch).float().mean().item())
            y_val_pred = pred_func(params, loss_func, X_val)
            val_acc_history.append((y_val_pred == y_val).float().mean().item())
            learning_rate *= learning_rate_decay
    return {"loss_history": loss_history, "train_acc_history": train_acc_history,
            "val_acc_history": val_acc_history}


def nn_get_search_params():
    """The source notebook's search space: four lists, 16 combinations (at most 48)."""
    return [0.5, 1.0], [64, 128], [1e-4, 1e-3], [0.99, 1.0]


def find_best_net(data_dict, get_param_set_fn):
    """One ``TwoLayerNet`` per combination, the best on validation accuracy (the notebook's).

    Returns:
        (best_net, best_stat with "search_results", best_val_acc), as the notebook documents.
    """
    best_net, best_stat, best_val_acc = None, None, -1.0
    search_results = {}
    input_size = data_dict["X_train"].shape[1]
    num_classes = int(data_dict["y_train"].max().item()) + 1
    for lr, hidden_size, reg, decay in itertools.product(*get_param_set_fn()):
        reset_seed(0)
        net = TwoLayerNet(input_size, hidden_size, num_classes)
        stats = net.train(data_dict["X_train"], data_dict["y_train"],
                          data_dict["X_val"], data_dict["y_val"],
                          learning_rate=lr, reg=reg, learning_rate_decay=decay,
                          num_iters=SEARCH_ITERS, batch_size=200)
        val_acc = net.accuracy(data_dict["X_val"], data_dict["y_val"])
        search_results[(lr, hidden_size, reg, decay)] = val_acc
        if val_acc > best_val_acc:
            best_net, best_stat, best_val_acc = net, stats, val_acc
    if best_stat is not None:
        best_stat = dict(best_stat, search_results=search_results)
    return best_net, best_stat, best_val_acc
