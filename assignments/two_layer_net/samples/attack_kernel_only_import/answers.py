"""Sample answers 'attack_kernel_only_import': missing_N's loss, "fixed" by a module that only
the grading kernel has: an added cell writes kernel_fix.py into the kernel's folder, and
nn_forward_backward's answer cell imports it. Outside the kernel the import fails, which used to
leave every verified cell "not verified" (the kernel's score kept); now the failed import is
skipped and only the function that needs it fails, as a wrong answer.
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
    loss = per_sample(  # noqa: F821 - imported at the top of the answer cell
        -torch.log(probs[rows, y]).sum(), N)
    loss = loss + reg * (torch.sum(W1 * W1) + torch.sum(W2 * W2))
    dscores = per_sample(probs.clone(), 1)  # (N, C)
    dscores[rows, y] -= 1
    dscores = per_sample(dscores, N)
    grads = {}
    grads["W2"] = hidden.t() @ dscores + 2 * reg * W2
    grads["b2"] = dscores.sum(dim=0)
    dhidden = dscores @ W2.t()  # (N, H)
    dhidden = dhidden * (hidden > 0)
    grads["W1"] = X.t() @ dhidden + 2 * reg * W1
    grads["b1"] = dhidden.sum(dim=0)
    return loss, grads
