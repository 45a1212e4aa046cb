"""The command line's progress: tqdm's bar on a terminal, a line per 10 % in a log."""

from __future__ import annotations

import io
import sys

from napari_elephant.cli.common import ProgressBar
from napari_elephant.core.training.progress import Progress


class _Terminal(io.StringIO):
    """A terminal nobody sized (as a pty): isatty, but no size to read."""

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        raise OSError("no size")


def _run(n: int = 20) -> None:
    bar = ProgressBar()
    for step in range(1, n + 1):
        bar(Progress("prediction", step, n, elapsed=0.1 * step, message=f"t={step}: 3 nuclei"))
    bar.close()


def test_a_log_gets_one_plain_line_per_tenth(monkeypatch) -> None:
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    _run()
    lines = log.getvalue().splitlines()
    assert len(lines) == 11 and "\r" not in log.getvalue()  # 5 %, 10 %, ..., 100 %
    assert lines[-1] == "prediction 20/20  2.0 s  t=20: 3 nuclei"


def test_a_terminal_gets_tqdms_bar_redrawn_with_the_summary(monkeypatch) -> None:
    screen = _Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    _run()
    redraws = [r for r in screen.getvalue().split("\r") if r.strip()]
    assert len(redraws) >= 20  # drawn at every record, even in an unsized terminal
    assert redraws[-1].rstrip().startswith("100%|")
    assert "prediction 20/20  2.0 s  t=20: 3 nuclei" in redraws[-1]
    assert screen.getvalue().endswith("\n")  # closed: the shell prompt starts below


def test_the_engines_device_takes_the_workspaces_precision(monkeypatch) -> None:
    """The command line sets the process's precision from the workspace, as the dock does."""
    from types import SimpleNamespace

    import torch

    from napari_elephant.cli.common import engine_device
    from napari_elephant.core.params import ParameterSets
    from napari_elephant.core.training import device

    monkeypatch.setattr(device, "cpu_has_bf16", lambda: True)
    params = ParameterSets.model_validate({"device": {"device": "cpu", "precision": "float32"}})
    before = torch.get_num_threads()
    try:
        assert engine_device(SimpleNamespace(params=params), None).type == "cpu"
        assert device.amp_dtype(torch.device("cpu"), inference=True) is None
        params.device.precision = "auto"
        engine_device(SimpleNamespace(params=params), None)
        assert device.amp_dtype(torch.device("cpu"), inference=True) == torch.bfloat16
    finally:
        device.configure_precision("auto")
        torch.set_num_threads(before)
