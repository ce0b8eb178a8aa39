"""usefuns.model: the TwoLayerNet object and safe checkpoint loading."""
import importlib.util
from pathlib import Path

import pytest
import torch

from usefuns.model import TwoLayerNet, check_params, load_params
from usefuns.utils import reset_seed

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "_test_reference", ROOT / "assignments" / "two_layer_net" / "reference.py")
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)


def make_net(D=6, H=5, C=3, **kwargs):
    return TwoLayerNet(D, H, C, loss_func=ref.nn_forward_backward, pred_func=ref.nn_predict,
                       train_func=ref.nn_train, device="cpu", **kwargs)


def test_does_the_same_seed_give_the_same_net():
    reset_seed(3)
    a = make_net()
    reset_seed(3)
    b = make_net()
    for name in a.params:
        assert torch.equal(a.params[name], b.params[name])
    assert a.params["b1"].abs().sum() == 0 and a.params["W1"].abs().sum() > 0


def test_does_train_update_the_nets_own_params_and_lower_the_loss():
    reset_seed(0)
    net = make_net(std=0.1)
    params = net.params
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(40, 6, generator=gen)
    y = torch.arange(40) % 3
    before = net.loss(X, y)[0].item()
    stats = net.train(X, y, X, y, learning_rate=0.5, num_iters=50, batch_size=10)
    assert net.params is params
    assert len(stats["loss_history"]) == 50
    assert net.loss(X, y)[0].item() < before
    assert 0.0 <= net.accuracy(X, y) <= 1.0
    assert net.predict(X).dtype == torch.int64


def test_does_save_then_load_give_the_same_params(tmp_path):
    reset_seed(1)
    net = make_net(std=0.1)
    net.save(tmp_path / "m.pt")
    other = make_net(D=6, H=2, C=3)
    same_dict = other.params
    other.load(tmp_path / "m.pt")
    assert other.params is same_dict
    for name in net.params:
        assert torch.equal(other.params[name], net.params[name])


def test_does_load_keep_the_nets_dtype(tmp_path):
    net = make_net(std=0.1)
    net.save(tmp_path / "m.pt")
    other = make_net(dtype=torch.float64).load(tmp_path / "m.pt")
    assert other.params["W1"].dtype == torch.float64


def test_does_a_missing_checkpoint_say_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="best_net.save"):
        load_params(tmp_path / "best_model.pt")


def test_is_a_file_that_is_not_a_checkpoint_refused_clearly(tmp_path):
    path = tmp_path / "best_model.pt"
    path.write_bytes(b"this is not a checkpoint")
    with pytest.raises(ValueError, match="not a readable PyTorch checkpoint"):
        load_params(path)


class Evil:
    def __reduce__(self):
        return (print, ("this would run code",))


def test_is_a_checkpoint_with_code_in_it_refused(tmp_path):
    path = tmp_path / "best_model.pt"
    torch.save({"W1": Evil()}, path)
    with pytest.raises(ValueError, match="not a readable PyTorch checkpoint"):
        load_params(path)


@pytest.mark.parametrize("params, message", [
    ([1, 2], "not a dict"),
    ({"W1": torch.zeros(2, 3), "b1": torch.zeros(3), "W2": torch.zeros(3, 4)}, "exactly"),
    ({"W1": torch.zeros(2, 3), "b1": torch.zeros(3), "W2": torch.zeros(3, 4),
      "b2": torch.zeros(4), "W3": torch.zeros(1)}, "exactly"),
    ({"W1": torch.zeros(2, 3), "b1": torch.zeros(4), "W2": torch.zeros(3, 4),
      "b2": torch.zeros(4)}, "inconsistent shapes"),
    ({"W1": torch.zeros(2, 3), "b1": torch.zeros(3), "W2": torch.zeros(5, 4),
      "b2": torch.zeros(4)}, "inconsistent shapes"),
    ({"W1": torch.zeros(2, 3, dtype=torch.int64), "b1": torch.zeros(3),
      "W2": torch.zeros(3, 4), "b2": torch.zeros(4)}, "floating-point"),
    ({"W1": torch.zeros(6), "b1": torch.zeros(3), "W2": torch.zeros(3, 4),
      "b2": torch.zeros(4)}, "matrices"),
])
def test_are_bad_checkpoints_refused_with_what_is_wrong(tmp_path, params, message):
    path = tmp_path / "best_model.pt"
    torch.save(params, path)
    with pytest.raises(ValueError, match=message):
        load_params(path)


def test_does_check_params_return_the_sizes():
    params = {"W1": torch.zeros(2, 3), "b1": torch.zeros(3), "W2": torch.zeros(3, 4),
              "b2": torch.zeros(4)}
    assert check_params(params) == (2, 3, 4)


def test_is_a_checkpoint_of_expanded_views_refused(tmp_path):
    # a few bytes on disk that would be 2**40 weights: refused before any computation
    from usefuns.model import PARAM_NAMES, load_params

    params = {"W1": torch.zeros(1).expand(4, 2 ** 38), "b1": torch.zeros(1).expand(2 ** 38),
              "W2": torch.zeros(1).expand(2 ** 38, 3), "b2": torch.zeros(3)}
    path = tmp_path / "best_model.pt"
    torch.save(params, path)
    assert path.stat().st_size < 10_000 and set(params) == set(PARAM_NAMES)
    with pytest.raises(ValueError, match="expanded view"):
        load_params(path)
