"""The submitted model: partial credit for its accuracy on the validation and test splits."""
import os

import torch

from usefuns.data import load_dataset
from usefuns.model import TwoLayerNet, load_params
from usefuns.utils import get_device

from .cases import reference

__all__ = ["BARS", "model_points"]

# data set -> (accuracy with no points, accuracy with all points) on both val and test
BARS = {"digits": (0.80, 0.95), "cifar10": (0.35, 0.50)}


def model_points(path, max_points, dataset=None, device=None):
    """Points for the checkpoint at ``path``: its accuracy on both val and test, with the bars.

    All points at or above the data set's upper bar on both splits, none at or below the lower
    bar, linear in between (on the worse of the two). The reference functions run the model,
    so only the submitted weights count.

    Raises:
        AssertionError: the checkpoint is missing or unreadable (one line saying why).
    """
    dataset = dataset or os.environ.get("USEFUNS_DATASET", "digits")
    device = get_device() if device is None else torch.device(device)
    try:
        params = load_params(path, device=device, dtype=torch.float32)
    except (FileNotFoundError, ValueError) as err:
        raise AssertionError(str(err)) from None
    data = load_dataset(dataset, device=device)
    D = data["X_train"].shape[1]
    if params["W1"].shape[0] != D or params["W2"].shape[1] != len(data["class_names"]):
        raise AssertionError(f"best_model.pt is for inputs of {params['W1'].shape[0]} values "
                             f"and {params['W2'].shape[1]} classes, but {dataset} has {D} and "
                             f"{len(data['class_names'])}")
    net = TwoLayerNet(D, 1, 1, loss_func=reference.nn_forward_backward,
                      pred_func=reference.nn_predict, train_func=reference.nn_train, device=device)
    net.params.clear()
    net.params.update(params)
    val_acc = net.accuracy(data["X_val"], data["y_val"])
    test_acc = net.accuracy(data["X_test"], data["y_test"])
    low, high = BARS[dataset]
    fraction = min(max((min(val_acc, test_acc) - low) / (high - low), 0.0), 1.0)
    points = round(max_points * fraction, 2)
    print(f"best_model.pt: validation accuracy {val_acc:.1%}, test accuracy {test_acc:.1%}: "
          f"{points} of {max_points} points (all from {high:.0%} on both, none at {low:.0%})")
    return points
