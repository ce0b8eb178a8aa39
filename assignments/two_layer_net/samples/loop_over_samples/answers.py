"""Sample answers 'loop_over_samples': Loss and dscores computed in a Python loop over the samples
(values right).
"""
import torch


def nn_forward_backward(params, X, y=None, reg=0.0):
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    scores, hidden = nn_forward_pass(params, X)
    if y is None:
        return scores
    N = X.shape[0]
    loss = 0.0
    dscores = torch.zeros_like(scores)
    for i in range(N):
        shifted = scores[i] - scores[i].max()
        p = torch.exp(shifted) / torch.exp(shifted).sum()
        loss = loss - torch.log(p[y[i]])
        dscores[i] = p
        dscores[i, y[i]] -= 1
    loss = loss / N + reg * (torch.sum(W1 * W1) + torch.sum(W2 * W2))
    dscores /= N
    grads = {}
    grads["W2"] = hidden.t() @ dscores + 2 * reg * W2
    grads["b2"] = dscores.sum(dim=0)
    dhidden = (dscores @ W2.t()) * (hidden > 0)
    grads["W1"] = X.t() @ dhidden + 2 * reg * W1
    grads["b1"] = dhidden.sum(dim=0)
    return loss, grads
