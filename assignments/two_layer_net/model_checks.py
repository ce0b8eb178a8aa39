"""Hidden-test support for part 2: the search and the submitted model (instructor only).

Loaded by path from the hidden cells (``load_checks("two_layer_net", "model_checks")``). Each
check raises ``AssertionError`` with one line a student can act on; ``model_points`` returns the
points, which nbgrader takes as partial credit.
"""
import importlib.util
import math
import os
from pathlib import Path

import torch

from usefuns.data import load_dataset
from usefuns.model import TwoLayerNet, load_params
from usefuns.utils import get_device

_spec = importlib.util.spec_from_file_location("_tln_reference_model",
                                               Path(__file__).with_name("reference.py"))
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)

__all__ = ["BARS", "check_search_params", "check_find_best_net", "model_points"]

# data set -> (accuracy with no points, accuracy with all points) on both val and test
BARS = {"digits": (0.80, 0.95), "cifar10": (0.35, 0.50)}
_NAMES = ("learning_rates", "hidden_sizes", "regularization_strengths", "learning_rate_decays")


def _call(name, fn, *args):
    try:
        return fn(*args)
    except AssertionError:
        raise
    except Exception as err:  # the student's code failed: one line, no traceback
        text = str(err).strip().splitlines()
        raise AssertionError(f"{name} raised {type(err).__name__}"
                             f"{': ' + text[0] if text else ''}") from None


def check_search_params(nn_get_search_params, max_combinations):
    """Four lists of sensible values, two or more each, at most ``max_combinations`` in all."""
    values = _call("nn_get_search_params", nn_get_search_params)
    if not isinstance(values, (tuple, list)) or len(values) != 4:
        raise AssertionError("nn_get_search_params must return four lists: learning rates, "
                             "hidden sizes, regularization strengths, decays")
    total = 1
    for name, options in zip(_NAMES, values):
        options = list(options)
        if len(set(options)) < 2:
            raise AssertionError(f"{name}: give at least two different values")
        for v in options:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise AssertionError(f"{name}: {v!r} is not a finite number")
        if name == "hidden_sizes" and not all(isinstance(v, int) and v >= 1 for v in options):
            raise AssertionError("hidden_sizes must be whole numbers of at least 1")
        if name == "learning_rates" and min(options) <= 0:
            raise AssertionError("learning_rates must be positive")
        if name == "regularization_strengths" and min(options) < 0:
            raise AssertionError("regularization_strengths must not be negative")
        if name == "learning_rate_decays" and not all(0 < v <= 1 for v in options):
            raise AssertionError("learning_rate_decays must lie in (0, 1]")
        total *= len(options)
    if total > max_combinations:
        raise AssertionError(f"{total} combinations exceed the budget of {max_combinations}")


class _StandInNet:
    """Trains nothing: its accuracies are fixed per hyperparameter combination.

    Validation accuracy ranks the combinations one way, training accuracy the opposite way,
    so a search that picks on training accuracy (or the last net, or the first) is caught.
    """

    table = {}  # (lr, hidden, reg, decay) -> val accuracy
    built = []

    def __init__(self, input_size, hidden_size, output_size, *args, **kwargs):
        self.hidden_size = hidden_size
        self.settings = None
        _StandInNet.built.append(self)

    def train(self, X, y, X_val, y_val, learning_rate=None, reg=None, learning_rate_decay=None,
              **kwargs):
        self.settings = (learning_rate, self.hidden_size, reg, learning_rate_decay)
        if self.settings not in self.table:
            raise AssertionError(
                f"find_best_net trained a net with learning_rate={learning_rate}, hidden size "
                f"{self.hidden_size}, reg={reg}, learning_rate_decay={learning_rate_decay}: "
                f"pass every combination of get_param_set_fn's values to TwoLayerNet(...) and "
                f"net.train(..., learning_rate=, reg=, learning_rate_decay=)")
        self.val_acc = self.table[self.settings]
        self.y_val = y_val
        train_acc = 1.0 - self.val_acc  # the opposite ranking
        self.stats = {"loss_history": [1.0], "train_acc_history": [train_acc],
                      "val_acc_history": [self.val_acc]}
        return self.stats

    def predict(self, X):
        y = self.y_val.clone()
        wrong = round((1.0 - self.val_acc) * y.shape[0])
        y[:wrong] = (y[:wrong] + 1) % 3
        return y

    def accuracy(self, X, y):
        return (self.predict(X) == y).double().mean().item()

    def loss(self, X, y=None, reg=0.0):
        raise AssertionError("find_best_net should train the nets, not call net.loss")


def check_find_best_net(find_best_net, device=None):
    """``find_best_net`` must return the net, stats and accuracy of the best validation run."""
    device = get_device() if device is None else torch.device(device)
    namespace = getattr(find_best_net, "__globals__", None)
    if namespace is None or "TwoLayerNet" not in namespace:
        raise AssertionError("find_best_net must build its networks with the notebook's "
                             "TwoLayerNet class")
    grid = ([0.1, 1.0], [4, 8], [0.0, 0.01], [0.9, 1.0])
    combos = [(a, b, c, d) for a in grid[0] for b in grid[1] for c in grid[2] for d in grid[3]]
    # N = 60 validation samples: accuracies are multiples of 1/60, all different
    order = [5, 12, 0, 9, 14, 3, 7, 1, 15, 10, 2, 8, 13, 6, 11, 4]
    _StandInNet.table = {combo: (30 + 2 * rank) / 60 for combo, rank in zip(combos, order)}
    _StandInNet.built = []
    gen = torch.Generator().manual_seed(7)
    data = {"X_train": torch.randn(90, 5, generator=gen),
            "y_train": torch.arange(90) % 3,
            "X_val": torch.randn(60, 5, generator=gen), "y_val": torch.arange(60) % 3}
    data = {k: v.to(device) for k, v in data.items()}
    # The stand-in replaces the notebook's TwoLayerNet; a quiet tqdm keeps the progress bar off
    # stderr (anything on stderr zeroes an nbgrader test cell).
    swaps = {"TwoLayerNet": _StandInNet}
    if "tqdm" in namespace:
        swaps["tqdm"] = lambda iterable, *args, **kwargs: iterable
    saved = {name: namespace[name] for name in swaps}
    namespace.update(swaps)
    try:
        result = _call("find_best_net", find_best_net, data, lambda: grid)
    finally:
        namespace.update(saved)
    if not isinstance(result, tuple) or len(result) != 3:
        raise AssertionError("find_best_net must return (best_net, best_stat, best_val_acc)")
    best_net, best_stat, best_val_acc = result
    trained = [net for net in _StandInNet.built if net.settings is not None]
    if len({net.settings for net in trained}) != len(combos):
        raise AssertionError(f"find_best_net trained {len(trained)} nets for {len(combos)} "
                             f"combinations: train one net per combination")
    best = max(trained, key=lambda net: net.val_acc)
    if best_net is not best:
        chosen = getattr(best_net, "val_acc", None)
        chosen = "something else" if chosen is None else f"validation accuracy {chosen:.4f}"
        hint = (" (it picked the best training accuracy)" if best_net is min(
            trained, key=lambda net: net.val_acc) else "")
        raise AssertionError(f"find_best_net did not return the net with the best validation "
                             f"accuracy{hint}: it returned {chosen}, the best net had "
                             f"{best.val_acc:.4f}")
    if not isinstance(best_val_acc, (int, float)) or abs(best_val_acc - best.val_acc) > 1e-6:
        raise AssertionError(f"best_val_acc should be the best net's validation accuracy "
                             f"{best.val_acc:.4f} as a float in [0, 1], not {best_val_acc!r}")
    if not isinstance(best_stat, dict) or best_stat.get("val_acc_history") != \
            best.stats["val_acc_history"]:
        raise AssertionError("best_stat should be the stats that training the best net "
                             "returned")


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
    net = TwoLayerNet(D, 1, 1, loss_func=ref.nn_forward_backward, pred_func=ref.nn_predict,
                      train_func=ref.nn_train, device=device)
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
