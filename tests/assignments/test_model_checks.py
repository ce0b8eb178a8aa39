"""checks.search and checks.model: the search's budget, choosing by validation accuracy, and the model's points."""
import itertools

import pytest
import torch

from conftest import ROOT, SAMPLES
from coursekit.hidden import load_module
from usefuns.model import TwoLayerNet

mc = load_module(ROOT / "assignments" / "two_layer_net" / "checks", "_test_model_checks")


def good_params():
    return [0.5, 1.0], [64, 128], [1e-4, 1e-3], [0.99, 1.0]


@pytest.mark.parametrize("values, phrase", [
    (([0.5], [64, 128], [1e-4, 1e-3], [0.99, 1.0]), "at least two"),
    (([0.5, 1.0], [64.5, 128], [1e-4, 1e-3], [0.99, 1.0]), "whole numbers"),
    (([-0.5, 1.0], [64, 128], [1e-4, 1e-3], [0.99, 1.0]), "positive"),
    (([0.5, 1.0], [64, 128], [-1e-4, 1e-3], [0.99, 1.0]), "not be negative"),
    (([0.5, 1.0], [64, 128], [1e-4, 1e-3], [0.99, 1.5]), "(0, 1]"),
    (([0.5, 1.0, 2.0], [64, 128, 256], [0, 1e-4, 1e-3], [0.9, 0.99, 1.0]), "exceed"),
    (([0.5, 1.0], [64, 128]), "four lists"),
])
def test_are_bad_search_params_refused_with_the_reason(values, phrase):
    with pytest.raises(AssertionError, match=phrase.replace("(", r"\(").replace("]", r"\]")):
        mc.check_search_params(lambda: values, 48)


def test_do_good_search_params_pass():
    assert mc.check_search_params(good_params, 48) is None


def _namespace_find_best_net(pick):
    """A find_best_net defined in its own globals, as in a notebook, choosing with ``pick``."""
    namespace = {"TwoLayerNet": None, "itertools": itertools}
    exec(f'''
def find_best_net(data_dict, get_param_set_fn):
    best = None
    for lr, hs, reg, decay in itertools.product(*get_param_set_fn()):
        net = TwoLayerNet(5, hs, 3)
        stats = net.train(data_dict["X_train"], data_dict["y_train"], data_dict["X_val"],
                          data_dict["y_val"], learning_rate=lr, reg=reg,
                          learning_rate_decay=decay, num_iters=10)
        score = {pick}
        if best is None or score > best[0]:
            best = (score, net, stats, net.accuracy(data_dict["X_val"], data_dict["y_val"]))
    return best[1], best[2], best[3]
''', namespace)
    return namespace["find_best_net"]


def test_does_choosing_by_validation_accuracy_pass():
    fn = _namespace_find_best_net('net.accuracy(data_dict["X_val"], data_dict["y_val"])')
    assert mc.check_find_best_net(fn, device="cpu") is None
    fn = _namespace_find_best_net('stats["val_acc_history"][-1]')
    assert mc.check_find_best_net(fn, device="cpu") is None
    assert fn.__globals__["TwoLayerNet"] is None, "the stand-in must be removed afterwards"


def test_is_choosing_by_training_accuracy_caught():
    fn = _namespace_find_best_net('stats["train_acc_history"][-1]')
    with pytest.raises(AssertionError, match="best training accuracy"):
        mc.check_find_best_net(fn, device="cpu")


def test_is_a_find_best_net_without_the_notebooks_class_refused():
    namespace = {}
    exec("def find_best_net(data_dict, get_param_set_fn):\n    return None", namespace)
    with pytest.raises(AssertionError, match="TwoLayerNet"):
        mc.check_find_best_net(namespace["find_best_net"], device="cpu")


def test_does_a_good_checkpoint_earn_all_points(capsys):
    points = mc.model_points(SAMPLES / "correct_compact" / "best_model.pt", 4, device="cpu")
    assert points == 4
    assert "test accuracy" in capsys.readouterr().out


def test_does_a_poor_checkpoint_earn_partial_points():
    points = mc.model_points(SAMPLES / "model_poor" / "best_model.pt", 4, device="cpu")
    assert 0 < points < 4


def test_does_a_random_net_earn_nothing(tmp_path):
    torch.manual_seed(0)
    net = TwoLayerNet(64, 16, 10, loss_func=None, pred_func=None, train_func=None,
                      device="cpu", std=1e-4)
    net.save(tmp_path / "best_model.pt")
    assert mc.model_points(tmp_path / "best_model.pt", 4, device="cpu") == 0


@pytest.mark.parametrize("content, phrase", [(None, "no checkpoint"),
                                             (b"text", "not a readable PyTorch checkpoint")])
def test_do_missing_or_corrupt_checkpoints_fail_with_a_clear_line(tmp_path, content, phrase):
    path = tmp_path / "best_model.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(AssertionError, match=phrase):
        mc.model_points(path, 4, device="cpu")


def test_is_a_checkpoint_for_other_data_refused(tmp_path):
    net = TwoLayerNet(3072, 8, 10, loss_func=None, pred_func=None, train_func=None,
                      device="cpu")
    net.save(tmp_path / "best_model.pt")
    with pytest.raises(AssertionError, match="3072"):
        mc.model_points(tmp_path / "best_model.pt", 4, device="cpu")
