"""Sample answers 'correct_torch_warning': right, but nn_predict makes PyTorch warn on stderr.

`torch.tensor(a_tensor)` works and warns "To copy construct from a tensor, it is recommended to
use sourceTensor.clone().detach()" on stderr. nbgrader zeroes a test cell that writes to stderr;
the course's ``stderr_fails_cells(False)`` (nbgrader_config.py) must keep this answer's points.
"""
import torch


def nn_predict(params, loss_func, X):
    scores = torch.tensor(loss_func(params, X))  # warns: copy-constructing from a tensor
    return scores.argmax(dim=1)
