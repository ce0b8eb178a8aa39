"""Sample answers 'attack_name_outside': missing_N's wrong loss, in an nn_forward_backward that,
only when it runs outside IPython (the grader's verification), uses a name that only a later
instructor cell defines, hoping that the grader calls its check "not verified" and keeps the
kernel's score. It is the student's code that fails there: a wrong answer.
"""
import torch


def nn_forward_backward(params, X, y=None, reg=0.0):
    if "get_ipython" not in globals():
        return data["X_val"]  # noqa: F821 - the real_data cell's name, never defined here
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
    loss = -torch.log(probs[rows, y]).sum() / N
    loss = loss + reg * (torch.sum(W1 * W1) + torch.sum(W2 * W2))
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
