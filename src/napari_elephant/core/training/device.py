"""Where the networks run: device choice, CPU threads and mixed precision.

The trainer runs in a background thread of the napari process, so on a CPU
it leaves one core to the viewer (``configure_cpu_threads(0)``).  Mixed
precision (``DeviceParams.precision``, "auto") is used where the hardware
computes it natively and it pays: on CUDA bf16 where the GPU supports it (no
loss scaling needed), fp16 with a gradient scaler otherwise; on CPUs with
AVX-512 BF16 or AMX, bf16 for prediction only.  Elsewhere the autocast
context and the scaler are no-ops, so the training loop is written once.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Literal, ParamSpec, TypeVar

import torch

from napari_elephant.core.errors import InvalidInputError

P = ParamSpec("P")
Y = TypeVar("Y")
R = TypeVar("R")
DevicePreference = Literal["auto", "cpu", "cuda", "mps"]
PREFERENCES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
PRECISIONS: tuple[str, ...] = ("auto", "float32")
_PRECISION = {"value": "auto"}  # process-wide, like torch's thread count


def cuda_available() -> bool:
    return torch.cuda.is_available()


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def select_device(preference: str = "auto") -> torch.device:
    """The device for ``preference``: auto picks CUDA, then Apple MPS, then the CPU."""
    if preference not in PREFERENCES:
        raise InvalidInputError(
            f"unknown device {preference!r} (expected one of {', '.join(PREFERENCES)})"
        )
    if preference == "auto":
        if cuda_available():
            return torch.device("cuda")
        return torch.device("mps") if mps_available() else torch.device("cpu")
    if preference == "cuda" and not cuda_available():
        raise InvalidInputError(f"CUDA was asked for but is not available: {_why_no_cuda()}")
    if preference == "mps" and not mps_available():
        raise InvalidInputError(
            "Apple MPS was asked for but is not available: it needs an Apple-silicon Mac "
            "and a PyTorch build with MPS; choose 'auto' or 'cpu'"
        )
    return torch.device(preference)


def _why_no_cuda() -> str:
    if torch.version.cuda is None:
        return (
            f"this PyTorch build ({torch.__version__}) has no CUDA support; "
            "install a CUDA build of torch or choose 'auto' or 'cpu'"
        )
    return "no CUDA GPU was found (driver missing or CUDA_VISIBLE_DEVICES empty)"


def available_cores() -> int:
    """Cores this process may run on (the affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def configure_cpu_threads(n: int = 0) -> int:
    """Set torch's intra-op CPU threads; 0 = all cores but one (at least 1).

    The spare core keeps the napari viewer responsive while a model trains
    in the background.  Returns the number of threads set.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise InvalidInputError(f"CPU threads must be an integer >= 0, got {n!r}")
    threads = n if n > 0 else max(1, available_cores() - 1)
    torch.set_num_threads(threads)
    return threads


def configure_precision(precision: str = "auto") -> str:
    """Set the process's precision: "auto" (mixed where the hardware has it) or
    "float32" (always full).  Like the thread count, set by whoever picks the device."""
    if precision not in PRECISIONS:
        raise InvalidInputError(
            f"unknown precision {precision!r} (expected one of {', '.join(PRECISIONS)})"
        )
    _PRECISION["value"] = precision
    return precision


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AVX-512 BF16 or AMX).

    Elsewhere oneDNN emulates bf16 and is slower than float32.
    """
    get = getattr(torch.cpu, "get_capabilities", None)  # torch >= 2.8
    if get is not None:
        caps = get()
        return bool(caps.get("avx512_bf16") or caps.get("amx_bf16"))
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def amp_dtype(device: torch.device, inference: bool = False) -> torch.dtype | None:
    """The autocast dtype on ``device``: bf16 / fp16 on CUDA; for ``inference``,
    bf16 on a CPU with native bf16; None (full precision) elsewhere or with
    precision "float32".

    A CPU's training stays in float32: on a 2-core AMD EPYC with AVX-512 BF16 a
    bf16 training step of the default network was 10-25 % slower on the crops of
    CHO, HeLa and the synthetic movies (the weight gradients of small crops),
    while prediction of whole volumes ran 1.3-1.6x faster (the paper's network
    2.4x); see docs/detection.md.
    """
    if _PRECISION["value"] == "float32":
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and inference and cpu_has_bf16():
        return torch.bfloat16
    return None


def autocast_context(
    device: torch.device, inference: bool = False
) -> contextlib.AbstractContextManager:
    """Mixed-precision autocast where :func:`amp_dtype` names a dtype, else a null context."""
    dtype = amp_dtype(device, inference)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def fast_layout(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """The model with channels-last 3D weights on a CPU (in place), else unchanged.

    oneDNN's 3D convolutions run faster on channels-last weights: a training step
    of the default network 0.41 -> 0.33 s and its prediction 0.9 -> 0.5 s on an
    AVX2 AMD EPYC (benchmarks/detection_speed.py); the values are the same.
    """
    if device.type == "cpu":
        model.to(memory_format=torch.channels_last_3d)
    return model


_FLUSHING = threading.local()  # per thread: how many loops want denormals flushed


@contextlib.contextmanager
def denormals_flushed() -> Iterator[None]:
    """Round denormal floats to zero on this thread while a training or prediction
    loop runs, and restore the default when the last such loop on it ends.

    Near-zero activations over dark background turn into denormals in the backward
    pass, which x86 CPUs compute in microcode: once a process held them, a step of
    the default network took 0.43 s instead of 0.34 s and a 30-step round 12.5 s
    instead of 9.3 s (2-core Xeon, benchmarks/detection_speed.py).  Values below
    1e-38 change nothing the networks compute.  The mode is the thread's, so it is
    put back: other code on the thread (hypothesis, for one) relies on denormals.
    Nested and interleaved loops (generators) are counted.
    """
    depth = getattr(_FLUSHING, "depth", 0)
    if depth == 0:
        torch.set_flush_denormal(True)
    _FLUSHING.depth = depth + 1
    try:
        yield
    finally:
        _FLUSHING.depth -= 1
        if _FLUSHING.depth == 0:
            torch.set_flush_denormal(False)


def flushes_denormals(
    loop: Callable[P, Generator[Y, None, R]],
) -> Callable[P, Generator[Y, None, R]]:
    """A training generator that runs inside :func:`denormals_flushed` (the mode holds
    between its steps, while it is suspended, and ends with it)."""

    @functools.wraps(loop)
    def run(*args: P.args, **kwargs: P.kwargs) -> Generator[Y, None, R]:
        with denormals_flushed():
            return (yield from loop(*args, **kwargs))

    return run


def make_grad_scaler(device: torch.device) -> torch.amp.GradScaler:
    """A gradient scaler, active only for fp16 on CUDA (bf16 and fp32 need none).

    A disabled scaler passes through: ``scale(loss)`` returns ``loss`` and
    ``step(optimizer)`` just calls ``optimizer.step()``.
    """
    enabled = amp_dtype(device) == torch.float16
    return torch.amp.GradScaler(device.type if enabled else "cpu", enabled=enabled)


def available_devices() -> list[str]:
    """The device keys present here, best first (e.g. ``['cuda', 'cpu']``)."""
    keys = ["cuda"] if cuda_available() else []
    if mps_available():
        keys.append("mps")
    return [*keys, "cpu"]


def describe_devices() -> list[str]:
    """One line per device present, ``"key: description"``, for the dock's device menu."""
    lines = []
    for key in available_devices():
        lines.append(f"{key}: {_describe(key)}")
    return lines


def _describe(key: str) -> str:
    if key == "cuda":
        names = []
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            names.append(f"{props.name} ({props.total_memory / 2**30:.0f} GiB)")
        return ", ".join(names) or "CUDA GPU"
    if key == "mps":
        return "Apple GPU (Metal)"
    return f"{available_cores()} cores"


@contextlib.contextmanager
def cpu_threads(n: int) -> Iterator[int]:
    """Temporarily set the CPU threads (restored on exit); yields the number set."""
    before = torch.get_num_threads()
    try:
        yield configure_cpu_threads(n)
    finally:
        torch.set_num_threads(before)
