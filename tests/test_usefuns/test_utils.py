"""Tests of usefuns.utils (device choice, seeds, determinism) and of the package import."""
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

import usefuns
from usefuns import utils
from usefuns.utils import DEVICE_ENV, get_device, reset_seed, set_deterministic


def test_does_get_device_return_cpu_without_a_gpu(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert get_device() == torch.device("cpu")


def test_does_get_device_match_what_pytorch_sees(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV, raising=False)
    assert get_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_does_USEFUNS_DEVICE_cpu_force_the_cpu(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV, "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # even with a GPU
    assert get_device() == torch.device("cpu")


def test_does_USEFUNS_DEVICE_cuda_without_a_gpu_raise(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV, "cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="sees no GPU"):
        get_device()


def test_does_a_garbage_USEFUNS_DEVICE_raise(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV, "banana")
    with pytest.raises(ValueError, match="not a device name"):
        get_device()


def test_does_reset_seed_make_draws_repeat():
    reset_seed(123)
    first = (torch.randn(5), random.random(), np.random.rand())
    reset_seed(123)
    second = (torch.randn(5), random.random(), np.random.rand())
    assert torch.equal(first[0], second[0]) and first[1:] == second[1:]


def test_does_set_deterministic_turn_tf32_off():
    flags = [(torch.backends.cuda.matmul, "allow_tf32"), (torch.backends.cudnn, "allow_tf32"),
             (torch.backends.cudnn, "benchmark")]
    saved = [getattr(obj, attr) for obj, attr in flags]
    try:
        for obj, attr in flags:
            setattr(obj, attr, True)
        set_deterministic()
        assert [getattr(obj, attr) for obj, attr in flags] == [False, False, False]
    finally:  # leave the process as it was
        for (obj, attr), value in zip(flags, saved):
            setattr(obj, attr, value)


def test_does_the_package_export_its_modules():
    assert {"data", "grad", "utils", "vis"} <= set(usefuns.__all__)
    assert all(hasattr(usefuns, name) for name in usefuns.__all__)


def test_is_importing_usefuns_free_of_matplotlib_and_sklearn():
    code = ("import sys, usefuns; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'sklearn'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_does_the_memory_fraction_cap_this_process(monkeypatch):
    monkeypatch.setenv(utils.DEVICE_ENV, "cuda")
    monkeypatch.setenv(utils.MEMORY_FRACTION_ENV, "0.01")
    device = utils.get_device()
    total = torch.cuda.get_device_properties(device).total_memory
    with pytest.raises(torch.OutOfMemoryError):
        torch.empty(int(total * 0.05), dtype=torch.uint8, device=device)
    torch.cuda.set_per_process_memory_fraction(1.0, torch.cuda.current_device())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("bad", ["0", "1.5", "half"])
def test_is_a_bad_memory_fraction_refused(monkeypatch, bad):
    monkeypatch.setenv(utils.DEVICE_ENV, "cuda")
    monkeypatch.setenv(utils.MEMORY_FRACTION_ENV, bad)
    with pytest.raises(ValueError, match="USEFUNS_CUDA_MEMORY_FRACTION"):
        utils.get_device()


def test_is_the_memory_fraction_ignored_on_the_cpu(monkeypatch):
    monkeypatch.setenv(utils.DEVICE_ENV, "cpu")
    monkeypatch.setenv(utils.MEMORY_FRACTION_ENV, "half")
    assert utils.get_device() == torch.device("cpu")
