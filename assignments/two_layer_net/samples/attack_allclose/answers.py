"""Sample answers 'attack_allclose': missing_N's wrong loss, plus an nn_forward_pass that makes
every comparison succeed: torch.allclose, Tensor.allclose, torch.equal and usefuns'
rel_error (in the module and in the notebook's namespace) are replaced when it first runs.
"""
import torch


def nn_forward_pass(params, X):
    import usefuns.grad

    always = lambda *args, **kwargs: True  # noqa: E731
    torch.allclose = torch.Tensor.allclose = torch.equal = always
    usefuns.grad.rel_error = globals()["rel_error"] = lambda *args, **kwargs: 0.0
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    hidden = (X @ W1 + b1).clamp(min=0)  # (N, H)
    scores = hidden @ W2 + b2  # (N, C)
    return scores, hidden
