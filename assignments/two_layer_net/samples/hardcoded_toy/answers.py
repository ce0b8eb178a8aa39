"""Sample answers 'hardcoded_toy': nn_forward_pass returns the toy's printed correct scores (5x3) and a
5x10 hidden layer; the other answers are right (nn_forward_backward computes its own forward
pass).
"""
import torch


def nn_forward_pass(params, X):
    # copied from the "Correct scores" that the visible test prints
    scores = torch.tensor([[4.539786573e-07, -1.927032542e-07, -4.896572818e-07],
                           [5.436058359e-07, 9.890092656e-08, 7.222765248e-07],
                           [-5.901975442e-08, 2.040074776e-09, 1.690396090e-07],
                           [2.220733677e-07, 5.237904332e-08, 2.743726384e-07],
                           [3.034803058e-07, -5.178855034e-08, -6.190570900e-08]],
                          device=X.device)
    hidden = torch.zeros(5, 10, device=X.device)
    return scores, hidden


def nn_forward_backward(params, X, y=None, reg=0.0):
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    hidden = (X @ W1 + b1).clamp(min=0)  # (N, H)
    scores = hidden @ W2 + b2  # (N, C)
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
    grads = {}
    grads["W2"] = hidden.t() @ dscores + 2 * reg * W2
    grads["b2"] = dscores.sum(dim=0)
    dhidden = dscores @ W2.t()  # (N, H)
    dhidden = dhidden * (hidden > 0)
    grads["W1"] = X.t() @ dhidden + 2 * reg * W1
    grads["b1"] = dhidden.sum(dim=0)
    return loss, grads
