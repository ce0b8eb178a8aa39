"""Sample answers 'cpu_tensor': nn_forward_pass builds its ReLU with torch.zeros(N, H) on the CPU:
right on the CPU, a device-mixing error on a GPU.
"""
import torch


def nn_forward_pass(params, X):
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    N, H = X.shape[0], W1.shape[1]
    z = X @ W1 + b1  # (N, H)
    hidden = torch.max(torch.zeros(N, H), z)  # zeros on the CPU: fine there, breaks on a GPU
    scores = hidden @ W2 + b2  # (N, C)
    return scores, hidden
