"""Tests of usefuns.data: toy data, minibatches, the digits loader and a CIFAR-format fixture."""
import pickle
import re

import numpy as np
import pytest
import torch

from usefuns.data import (CIFAR_URL, DATA_ENV, get_toy_data, load_dataset, sample_batch)
from usefuns.utils import reset_seed

KEYS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")


# --- toy data -------------------------------------------------------------------------------

def test_is_toy_data_identical_across_calls():
    X1, y1, p1 = get_toy_data(device="cpu")
    X2, y2, p2 = get_toy_data(device="cpu")
    assert torch.equal(X1, X2) and torch.equal(y1, y2)
    assert all(torch.equal(p1[k], p2[k]) for k in ("W1", "b1", "W2", "b2"))


def test_does_default_toy_data_reproduce_a_fresh_seed_0_draw():
    X, y, params = get_toy_data(device="cpu")
    g = torch.Generator().manual_seed(0)  # documented draw order: W1, W2, X
    W1 = 1e-4 * torch.randn(4, 10, generator=g)
    W2 = 1e-4 * torch.randn(10, 3, generator=g)
    assert torch.equal(params["W1"], W1) and torch.equal(params["W2"], W2)
    assert torch.equal(X, 10.0 * torch.randn(5, 4, generator=g))
    assert params["W1"][0, :3].tolist() == W1[0, :3].tolist()
    assert torch.equal(params["b1"], torch.zeros(10)) and torch.equal(params["b2"], torch.zeros(3))
    assert y.tolist() == [0, 1, 2, 2, 1] and y.dtype == torch.int64
    assert X.dtype == params["W1"].dtype == torch.float32


def test_does_toy_data_leave_the_global_rng_alone():
    state = torch.get_rng_state()
    get_toy_data(device="cpu")
    assert torch.equal(torch.get_rng_state(), state)


def test_does_float64_toy_data_hold_the_float32_values():
    X32, _, p32 = get_toy_data(device="cpu")
    X64, _, p64 = get_toy_data(device="cpu", dtype=torch.float64)
    assert X64.dtype == p64["W2"].dtype == torch.float64
    assert torch.equal(X64.float(), X32) and torch.equal(p64["W1"].float(), p32["W1"])


def test_do_other_toy_sizes_give_the_right_shapes():
    X, y, p = get_toy_data(num_inputs=7, input_size=3, hidden_size=6, num_classes=4,
                           device="cpu", std=1e-1)
    assert X.shape == (7, 3) and y.tolist() == [0, 1, 2, 3, 0, 1, 2]
    assert p["W1"].shape == (3, 6) and p["b1"].shape == (6,)
    assert p["W2"].shape == (6, 4) and p["b2"].shape == (4,)


def test_does_toy_data_follow_get_device_when_device_is_none(monkeypatch):
    monkeypatch.setenv("USEFUNS_DEVICE", "cpu")
    X, y, p = get_toy_data()
    assert X.device.type == y.device.type == p["W1"].device.type == "cpu"


def test_are_bad_toy_arguments_rejected():
    with pytest.raises(ValueError, match="floating"):
        get_toy_data(dtype=torch.int64, device="cpu")
    with pytest.raises(ValueError, match="num_inputs"):
        get_toy_data(num_inputs=0, device="cpu")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_are_toy_values_on_cuda_exactly_the_cpu_values():
    for dtype in (torch.float32, torch.float64):
        Xc, yc, pc = get_toy_data(device="cpu", dtype=dtype)
        Xg, yg, pg = get_toy_data(device="cuda", dtype=dtype)
        assert Xg.device.type == "cuda"
        assert torch.equal(Xg.cpu(), Xc) and torch.equal(yg.cpu(), yc)
        assert all(torch.equal(pg[k].cpu(), pc[k]) for k in pc)


# --- minibatches ----------------------------------------------------------------------------

def test_does_sample_batch_draw_matching_rows_from_the_first_num_train():
    X = torch.arange(50, dtype=torch.float32)[:, None].repeat(1, 3)  # row i holds i
    y = torch.arange(50)
    reset_seed(0)
    Xb, yb = sample_batch(X, y, num_train=20, batch_size=64)
    assert Xb.shape == (64, 3) and yb.shape == (64,) and yb.dtype == torch.int64
    assert torch.equal(Xb[:, 0].long(), yb) and int(yb.max()) < 20
    reset_seed(0)
    assert torch.equal(sample_batch(X, y, 20, 64)[1], yb)  # repeatable after reset_seed


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_does_sample_batch_stay_on_cuda():
    X = torch.arange(30, dtype=torch.float32, device="cuda")[:, None]
    Xb, yb = sample_batch(X, torch.arange(30, device="cuda"), 30, 8)
    assert Xb.device.type == yb.device.type == "cuda" and torch.equal(Xb[:, 0].long(), yb)


def test_does_sample_batch_reject_num_train_beyond_N():
    with pytest.raises(ValueError, match="num_train"):
        sample_batch(torch.zeros(5, 2), torch.zeros(5, dtype=torch.int64), 6, 2)


# --- digits ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", device="cpu")


@pytest.fixture(scope="module")
def raw_digits():
    from sklearn.datasets import load_digits
    d = load_digits()
    return torch.from_numpy(d.data), torch.from_numpy(d.target)


def test_do_digits_have_the_documented_shapes_and_dtypes(digits):
    sizes = {k: digits[k].shape[0] for k in KEYS}
    assert (sizes["X_train"], sizes["X_val"], sizes["X_test"]) == (1197, 300, 300)
    for split in ("train", "val", "test"):
        X, y = digits[f"X_{split}"], digits[f"y_{split}"]
        assert X.dtype == torch.float32 and X.shape[1] == 64 and y.dtype == torch.int64
        assert y.shape == (X.shape[0],) and 0 <= int(y.min()) and int(y.max()) <= 9
    assert digits["image_shape"] == (8, 8) and digits["mean"].shape == (64,)
    assert digits["class_names"] == [str(i) for i in range(10)]


def test_are_digits_splits_disjoint_and_complete(digits):
    idx = digits["indices"]
    allidx = torch.cat([idx["train"], idx["val"], idx["test"]])
    assert allidx.numel() == 1797 and torch.equal(allidx.sort().values, torch.arange(1797))


def test_is_only_the_training_mean_subtracted(digits, raw_digits):
    images, labels = raw_digits
    idx = digits["indices"]
    assert digits["X_train"].mean(0).abs().max() < 1e-6
    expected_mean = (images[idx["train"]] / 16).mean(0)
    assert torch.allclose(digits["mean"].double(), expected_mean, atol=1e-7)
    for split in ("train", "val", "test"):  # X + mean gives the [0, 1] pixels back
        restored = digits[f"X_{split}"] + digits["mean"]
        assert torch.allclose(restored.double(), images[idx[split]] / 16, atol=1e-6)
        assert torch.equal(digits[f"y_{split}"], labels[idx[split]])
    assert digits["X_val"].mean(0).abs().max() > 1e-3  # not centred by its own mean


def test_is_digits_loading_deterministic(digits):
    again = load_dataset("digits", device="cpu")
    assert all(torch.equal(digits[k], again[k]) for k in KEYS)
    other = load_dataset("digits", device="cpu", seed=1)
    assert not torch.equal(other["indices"]["test"], digits["indices"]["test"])


def test_does_subsampling_train_keep_val_and_test(digits):
    small = load_dataset("digits", num_train=100, device="cpu", dtype=torch.float64)
    assert small["X_train"].shape == (100, 64) and small["X_train"].dtype == torch.float64
    for split in ("val", "test"):
        assert torch.equal(small["indices"][split], digits["indices"][split])


def test_are_impossible_split_sizes_rejected():
    with pytest.raises(ValueError, match="exceeds the 1797"):
        load_dataset("digits", num_train=1500, device="cpu")
    with pytest.raises(ValueError, match="num_train must be at least 1"):
        load_dataset("digits", num_train=0, device="cpu")


def test_is_an_unknown_name_a_value_error_listing_the_known_names():
    with pytest.raises(ValueError, match="known names: digits, cifar10"):
        load_dataset("mnist")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_are_digits_on_cuda_exactly_the_cpu_values(digits):
    gpu = load_dataset("digits", device="cuda")
    assert gpu["X_train"].device.type == "cuda" and gpu["mean"].device.type == "cuda"
    assert all(torch.equal(gpu[k].cpu(), digits[k]) for k in KEYS)


# --- CIFAR-10 (a small fixture in the official format) --------------------------------------

NAMES = ["airplane", "automobile", "bird", "cat", "deer",
         "dog", "frog", "horse", "ship", "truck"]


@pytest.fixture
def cifar_root(tmp_path):
    """tmp_path/cifar-10-batches-py with 5 training batches of 20 images and a test batch of 20."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    raw = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(20, 3072), dtype=np.uint8)
        data[:, 1024:2048] //= 2  # channels with different means
        labels = [int(v) for v in rng.integers(0, 10, size=20)]
        raw[name] = (data, labels)
        with open(folder / name, "wb") as f:
            pickle.dump({b"batch_label": name.encode(), b"labels": labels, b"data": data,
                         b"filenames": [b"x.png"] * 20}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [n.encode() for n in NAMES], b"num_vis": 3072,
                     b"num_cases_per_batch": 20}, f)
    return tmp_path, raw


def test_does_the_cifar_fixture_load_with_the_right_shapes(cifar_root):
    root, raw = cifar_root
    d = load_dataset("cifar10", root=root, num_val=20, device="cpu")
    assert [d[k].shape[0] for k in ("X_train", "X_val", "X_test")] == [80, 20, 20]
    assert d["X_train"].shape[1] == 3072 and d["X_train"].dtype == torch.float32
    assert all(d[f"y_{s}"].dtype == torch.int64 for s in ("train", "val", "test"))
    assert d["image_shape"] == (3, 32, 32) and d["class_names"] == NAMES
    train = np.concatenate([raw[f"data_batch_{i}"][0] for i in range(1, 6)])
    labels = sum((raw[f"data_batch_{i}"][1] for i in range(1, 6)), [])
    assert d["y_train"].tolist() == labels[:80] and d["y_val"].tolist() == labels[80:]
    assert d["y_test"].tolist() == raw["test_batch"][1]
    restored = (d["X_val"] + d["mean"]).double() * 255
    assert torch.allclose(restored, torch.from_numpy(train[80:]).double(), atol=1e-3)


def test_is_the_cifar_mean_per_channel_from_the_training_split(cifar_root):
    root, raw = cifar_root
    d = load_dataset("cifar10", root=root / "cifar-10-batches-py", num_train=60, num_val=20,
                     num_test=10, device="cpu")
    train = np.concatenate([raw[f"data_batch_{i}"][0] for i in range(1, 6)])[:60]
    expected = train.reshape(60, 3, 1024).mean(axis=(0, 2)) / 255  # (3,)
    mean = d["mean"].reshape(3, 1024)
    assert torch.allclose(mean, torch.from_numpy(expected).float()[:, None].expand(3, 1024))
    assert d["X_train"].reshape(60, 3, 1024).mean(dim=(0, 2)).abs().max() < 1e-6
    assert d["X_test"].shape == (10, 3072)
    assert not torch.equal(mean[0], mean[1])  # per channel, not one number


def test_is_the_cifar_folder_found_through_USEFUNS_DATA(cifar_root, monkeypatch):
    root, _ = cifar_root
    monkeypatch.setenv(DATA_ENV, str(root))
    assert load_dataset("cifar10", num_val=10, device="cpu")["X_train"].shape == (90, 3072)


def test_does_missing_cifar_say_where_it_looked_and_how_to_get_it(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=re.escape(CIFAR_URL)) as info:
        load_dataset("cifar10", root=tmp_path / "nowhere")
    assert DATA_ENV in str(info.value) and "nowhere" in str(info.value)
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=re.escape(".cache/usefuns")):
        load_dataset("cifar10")


def test_does_a_partial_cifar_folder_name_the_missing_files(cifar_root):
    root, _ = cifar_root
    (root / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(FileNotFoundError, match="missing test_batch"):
        load_dataset("cifar10", root=root, num_val=20)


def test_are_too_large_cifar_splits_rejected(cifar_root):
    root, _ = cifar_root
    with pytest.raises(ValueError, match="exceeds the 100 images"):
        load_dataset("cifar10", root=root, device="cpu")  # default 10000 val
