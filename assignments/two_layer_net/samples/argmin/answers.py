"""Sample answers 'argmin': nn_predict returns the argmin of the scores.
"""
import torch


def nn_predict(params, loss_func, X):
    scores = loss_func(params, X)  # (N, C)
    return torch.argmin(scores, dim=1)
