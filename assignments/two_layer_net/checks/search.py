"""The hyperparameter search: sensible values within budget, and a choice by validation accuracy."""
import math

import torch

from coursekit.hidden import with_globals
from usefuns.utils import get_device

from .hints import hint_for

__all__ = ["check_search_params", "check_find_best_net"]

_NAMES = ("learning_rates", "hidden_sizes", "regularization_strengths", "learning_rate_decays")


def _call(name, fn, *args):
    try:
        return fn(*args)
    except AssertionError:
        raise
    except Exception as err:  # the student's code failed: one line, no traceback
        text = str(err).strip().splitlines()
        hint = hint_for(type(err).__name__, text[0] if text else "")
        raise AssertionError(f"{name} raised {type(err).__name__}"
                             f"{': ' + text[0] if text else ''}"
                             f"{'; hint: ' + hint if hint else ''}") from None


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


def _stand_in_class(table):
    """A stand-in for the notebook's ``TwoLayerNet`` that trains nothing: its accuracies are
    fixed per hyperparameter combination (``table``: (lr, hidden, reg, decay) -> val accuracy).

    Validation accuracy ranks the combinations one way, training accuracy the opposite way,
    so a search that picks on training accuracy (or the last net, or the first) is caught.
    ``built`` lists every net made. Under ``coursekit autograde`` the nets live in the grader:
    the student's code holds stand-ins whose ``remote_methods`` call back into it.
    """
    class StandInNet:
        remote_methods = ("train", "predict", "accuracy", "loss")
        built = []

        def __init__(self, input_size, hidden_size, output_size, *args, **kwargs):
            self.hidden_size = hidden_size
            self.settings = None
            StandInNet.built.append(self)

        def train(self, X, y, X_val, y_val, learning_rate=None, reg=None,
                  learning_rate_decay=None, **kwargs):
            self.settings = (learning_rate, self.hidden_size, reg, learning_rate_decay)
            if self.settings not in table:
                raise AssertionError(
                    f"find_best_net trained a net with learning_rate={learning_rate}, hidden "
                    f"size {self.hidden_size}, reg={reg}, learning_rate_decay="
                    f"{learning_rate_decay}: pass every combination of get_param_set_fn's "
                    f"values to TwoLayerNet(...) and net.train(..., learning_rate=, reg=, "
                    f"learning_rate_decay=)")
            self.val_acc = table[self.settings]
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

    return StandInNet


def _quiet(iterable, *args, **kwargs):
    """tqdm without a bar (a bar on stderr would zero an nbgrader test cell)."""
    return iterable


def check_find_best_net(find_best_net, device=None):
    """``find_best_net`` must return the net, stats and accuracy of the best validation run,
    with stand-in nets in place of the notebook's ``TwoLayerNet`` (and a quiet ``tqdm``)."""
    device = get_device() if device is None else torch.device(device)
    grid = ([0.1, 1.0], [4, 8], [0.0, 0.01], [0.9, 1.0])
    combos = [(a, b, c, d) for a in grid[0] for b in grid[1] for c in grid[2] for d in grid[3]]
    # N = 60 validation samples: accuracies are multiples of 1/60, all different
    order = [5, 12, 0, 9, 14, 3, 7, 1, 15, 10, 2, 8, 13, 6, 11, 4]
    net_class = _stand_in_class({combo: (30 + 2 * rank) / 60
                                 for combo, rank in zip(combos, order)})
    gen = torch.Generator().manual_seed(7)
    data = {"X_train": torch.randn(90, 5, generator=gen),
            "y_train": torch.arange(90) % 3,
            "X_val": torch.randn(60, 5, generator=gen), "y_val": torch.arange(60) % 3}
    data = {k: v.to(device) for k, v in data.items()}
    result = _call("find_best_net", with_globals, find_best_net,
                   {"TwoLayerNet": net_class, "tqdm": _quiet}, data, lambda: grid)
    trained = [net for net in net_class.built if net.settings is not None]
    if not trained:
        raise AssertionError("find_best_net trained no net: build each with the notebook's "
                             "TwoLayerNet(...) and train it with net.train(...)")
    if not isinstance(result, tuple) or len(result) != 3:
        raise AssertionError("find_best_net must return (best_net, best_stat, best_val_acc)")
    best_net, best_stat, best_val_acc = result
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
    if not isinstance(best_val_acc, (int, float)) or not abs(best_val_acc - best.val_acc) <= 1e-6:
        raise AssertionError(f"best_val_acc should be the best net's validation accuracy "
                             f"{best.val_acc:.4f} as a float in [0, 1], not {best_val_acc!r}")
    if not isinstance(best_stat, dict) or best_stat.get("val_acc_history") != \
            best.stats["val_acc_history"]:
        raise AssertionError("best_stat should be the stats that training the best net "
                             "returned")
