"""Sample answers 'grads_missing_biases': the gradients dict lacks b1 and b2.

The loss is right, so the loss tests (the stability test included) keep their points; the
gradient tests that look at the keys fail.
"""
import torch


def nn_forward_backward(params, X, y=None, reg=0.0):
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
    dscores = probs.clone()  # (N, C)
    dscores[rows, y] -= 1
    dscores /= N
    dhidden = (dscores @ W2.t()) * (hidden > 0)  # (N, H)
    grads = {"W2": hidden.t() @ dscores + 2 * reg * W2, "W1": X.t() @ dhidden + 2 * reg * W1}
    return loss, grads
