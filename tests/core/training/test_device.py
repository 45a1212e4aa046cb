"""Device choice, CPU threads and the mixed-precision helpers."""

from __future__ import annotations

import contextlib

import pytest
import torch

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.training import device as dev


@pytest.fixture
def no_accelerators(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "mps_available", lambda: False)


def test_auto_is_the_cpu_without_accelerators(no_accelerators):
    assert dev.select_device("auto") == torch.device("cpu")
    assert dev.select_device("cpu") == torch.device("cpu")


def test_auto_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(dev, "mps_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert dev.select_device("auto").type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert dev.select_device("auto").type == "mps"


def test_asking_for_a_missing_accelerator_is_a_clear_error(no_accelerators):
    with pytest.raises(InvalidInputError, match="CUDA was asked for but is not available: "):
        dev.select_device("cuda")
    with pytest.raises(InvalidInputError, match="MPS was asked for but is not available"):
        dev.select_device("mps")


def test_unknown_preference_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="unknown device 'gpu'"):
        dev.select_device("gpu")


def test_zero_threads_leaves_one_core_to_the_viewer(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setattr(dev, "available_cores", lambda: 6)
        assert dev.configure_cpu_threads(0) == 5
        assert torch.get_num_threads() == 5
        monkeypatch.setattr(dev, "available_cores", lambda: 1)
        assert dev.configure_cpu_threads(0) == 1
        assert dev.configure_cpu_threads(2) == 2
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_negative_threads_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="CPU threads must be an integer >= 0"):
        dev.configure_cpu_threads(-1)


def test_cpu_threads_context_restores_the_setting():
    before = torch.get_num_threads()
    with dev.cpu_threads(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


@pytest.fixture
def precision():
    """Put the process's precision back to the default after a test sets it."""
    yield dev.configure_precision
    dev.configure_precision("auto")


def test_no_mixed_precision_on_a_cpu_without_bf16(monkeypatch):
    monkeypatch.setattr(dev, "cpu_has_bf16", lambda: False)
    cpu = torch.device("cpu")
    assert dev.amp_dtype(cpu) is None
    assert isinstance(dev.autocast_context(cpu), contextlib.nullcontext)
    scaler = dev.make_grad_scaler(cpu)
    assert not scaler.is_enabled()
    loss = torch.tensor(2.0)
    assert scaler.scale(loss) is loss


def test_a_cpu_with_bf16_predicts_in_bf16_and_trains_in_float32(monkeypatch):
    monkeypatch.setattr(dev, "cpu_has_bf16", lambda: True)
    cpu = torch.device("cpu")
    assert dev.amp_dtype(cpu, inference=True) == torch.bfloat16
    assert dev.amp_dtype(cpu) is None
    conv = torch.nn.Conv3d(1, 2, 3)
    with dev.autocast_context(cpu, inference=True):
        out = conv(torch.rand(1, 1, 4, 4, 4))
    assert out.dtype == torch.bfloat16
    assert isinstance(dev.autocast_context(cpu), contextlib.nullcontext)
    assert not dev.make_grad_scaler(cpu).is_enabled()  # bf16 needs no loss scaling


def test_float32_precision_turns_mixed_precision_off_everywhere(monkeypatch, precision):
    monkeypatch.setattr(dev, "cpu_has_bf16", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert precision("float32") == "float32"
    assert dev.amp_dtype(torch.device("cpu"), inference=True) is None
    assert dev.amp_dtype(torch.device("cuda")) is None
    precision("auto")
    assert dev.amp_dtype(torch.device("cpu"), inference=True) == torch.bfloat16


def test_an_unknown_precision_is_refused(precision):
    with pytest.raises(InvalidInputError, match="unknown precision 'half'"):
        precision("half")


def test_cpu_bf16_is_read_from_the_cpu_flags(monkeypatch):
    dev.cpu_has_bf16.cache_clear()
    monkeypatch.setattr(
        torch.cpu, "get_capabilities", lambda: {"avx512_bf16": False, "amx_bf16": True}
    )
    try:
        assert dev.cpu_has_bf16() is True
        dev.cpu_has_bf16.cache_clear()
        monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx2": True})
        assert dev.cpu_has_bf16() is False
    finally:
        dev.cpu_has_bf16.cache_clear()


def test_cuda_uses_bf16_when_supported(monkeypatch):
    cuda = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert dev.amp_dtype(cuda) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert dev.amp_dtype(cuda) == torch.float16


def test_describe_devices_lists_what_is_present(no_accelerators, monkeypatch):
    monkeypatch.setattr(dev, "available_cores", lambda: 2)
    assert dev.available_devices() == ["cpu"]
    assert dev.describe_devices() == ["cpu: 2 cores"]


def test_fast_layout_makes_cpu_convolutions_channels_last_with_the_same_output():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv3d(2, 4, 3, padding=1), torch.nn.ReLU())
    x = torch.rand(1, 2, 6, 10, 12)
    before = model(x).detach()
    assert dev.fast_layout(model, torch.device("cpu")) is model
    weight = model[0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert not weight.is_contiguous()
    torch.testing.assert_close(model(x), before, atol=1e-6, rtol=1e-5)
    other = torch.nn.Conv3d(2, 2, 3)
    dev.fast_layout(other, torch.device("meta"))  # not a CPU: left alone
    assert other.weight.is_contiguous()


def _denormal_survives() -> bool:
    tiny = torch.tensor([1e-39], dtype=torch.float32)  # below float32's normal range
    return bool((tiny * 1.0).item() != 0.0)


def test_loops_flush_denormals_while_they_run_and_put_the_default_back():
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU has no flush-to-zero mode")
    assert _denormal_survives()
    with dev.denormals_flushed():
        assert not _denormal_survives()  # the slow microcode path is never taken
        with dev.denormals_flushed():  # a loop inside a loop
            assert not _denormal_survives()
        assert not _denormal_survives()  # the outer loop still runs
    assert _denormal_survives()  # other code on the thread relies on denormals
