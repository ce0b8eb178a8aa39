"""Sample answers 'correct_warnings_logging': correct, but three functions write to stderr.

``nn_forward_pass`` and ``nn_predict`` warn (``warnings.warn``) and ``nn_forward_backward`` logs a
warning (the ``logging`` module's last-resort handler writes to stderr). A test cell fails only
on its own errors: full marks, and the text stays in the graded notebook. (``print(...,
file=sys.stderr)`` is tested in tests/engine/test_stderr.py: an answer that names ``sys`` is listed
for an instructor's review by the grader's static scan.)
"""
import torch


def nn_forward_pass(params, X):
    import warnings

    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    if X.dtype != torch.float64:
        warnings.warn("nn_forward_pass: inputs are not float64", stacklevel=2)
    hidden = (X @ W1 + b1).clamp(min=0)  # (N, H)
    scores = hidden @ W2 + b2  # (N, C)
    return scores, hidden


def nn_forward_backward(params, X, y=None, reg=0.0):
    import logging

    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    scores, hidden = nn_forward_pass(params, X)
    if y is None:
        return scores
    N = X.shape[0]
    rows = torch.arange(N, device=X.device)
    shifted = scores - scores.max(dim=1, keepdim=True).values  # (N, C)
    exp_scores = shifted.exp()
    probs = exp_scores / exp_scores.sum(dim=1, keepdim=True)  # (N, C)
    loss = -torch.log(probs[rows, y]).mean()
    loss = loss + reg * (torch.sum(W1 * W1) + torch.sum(W2 * W2))
    logging.getLogger("two_layer_net").warning("loss %.4f on %d samples", loss.item(), N)
    dscores = probs.clone()  # (N, C)
    dscores[rows, y] -= 1
    dscores /= N
    grads = {}
    grads["W2"] = hidden.t() @ dscores + 2 * reg * W2
    grads["b2"] = dscores.sum(dim=0)
    dhidden = dscores @ W2.t()  # (N, H)
    dhidden = dhidden * (hidden > 0)
    grads["W1"] = X.t() @ dhidden + 2 * reg * W1
    grads["b1"] = dhidden.sum(dim=0)
    return loss, grads


def nn_predict(params, loss_func, X):
    import warnings

    scores = loss_func(params, X)  # (N, C)
    warnings.warn(f"nn_predict: {X.shape[0]} samples", stacklevel=2)
    return torch.argmax(scores, dim=1)
