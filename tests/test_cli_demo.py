"""``napari-elephant demo``: headless where there is no display, the viewer where there is."""

from __future__ import annotations

import re
import sys
import types

import pytest
import torch

from napari_elephant.cli import data, main
from napari_elephant.core.demo import demo_workspace
from napari_elephant.core.graph import Status
from napari_elephant.core.workspace import Workspace

SCORES = re.compile(
    r"^scores: detection F1 (?P<det_f1>[\d.]+), link F1 (?P<link_f1>[\d.]+), "
    r"division F1 (?P<div_f1>[\d.]+), DET (?P<det>[\d.]+), TRA (?P<tra>[\d.]+)$"
)


@pytest.fixture
def tiny_demo(tmp_path, monkeypatch):
    """A tiny demo workspace with small training crops, run on one torch thread."""
    ws = demo_workspace(tmp_path / "demo" / "demo.elephant", preset="tiny")
    ws.params.training.crop_size = (8, 32, 32)
    ws.save_settings()
    before = torch.get_num_threads()
    monkeypatch.setattr("napari_elephant.core.training.device.available_cores", lambda: 1)
    yield ws
    torch.set_num_threads(before)


@pytest.fixture
def no_display(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


def test_headless_demo_runs_the_loop_and_prints_the_scores(tiny_demo, capsys):
    seeds = len(tiny_demo.graph)
    argv = ["demo", "--headless", "--workspace", str(tiny_demo.path), "--steps", "3"]
    assert main([*argv, "--seed", "0", "--device", "cpu"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == f"demo workspace {tiny_demo.path}"
    assert f"training on {seeds} annotations" in out[1]
    scores = SCORES.match(out[-1])
    assert scores, out[-1]
    assert all(0.0 <= float(v) <= 1.0 for v in scores.groupdict().values())
    saved = Workspace.open(tiny_demo.path)  # the result is saved for the viewer
    assert sum(n.status == Status.ACCEPTED for n in saved.graph.nuclei()) == seeds
    assert len(saved.graph.timepoints()) > 1  # every timepoint was predicted


def test_demo_without_a_display_falls_back_to_headless(tiny_demo, no_display, monkeypatch):
    ran = []
    monkeypatch.setattr(data, "_demo_headless", lambda ws, args: ran.append(ws.path) or 0)
    assert main(["demo", "--workspace", str(tiny_demo.path)]) == 0
    assert ran == [tiny_demo.path]


def test_demo_note_when_falling_back(tiny_demo, no_display, monkeypatch, capsys):
    monkeypatch.setattr(data, "_demo_headless", lambda ws, args: 0)
    main(["demo", "--workspace", str(tiny_demo.path)])
    notes = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("note:")]
    assert len(notes) == 1 and "no display" in notes[0]


def test_demo_opens_the_viewer_where_there_is_a_display(tiny_demo, monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    opened, headless = [], []
    fake = types.ModuleType("napari_elephant._qt.launch")
    fake.launch_viewer = opened.append
    monkeypatch.setitem(sys.modules, "napari_elephant._qt.launch", fake)
    monkeypatch.setattr(data, "_demo_headless", lambda ws, args: headless.append(1) or 0)
    assert main(["demo", "--workspace", str(tiny_demo.path)]) == 0
    assert opened == [tiny_demo.path] and not headless


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        ("linux", {}, False),
        ("linux", {"DISPLAY": ":1"}, True),
        ("linux", {"WAYLAND_DISPLAY": "wayland-0"}, True),
        ("darwin", {}, True),
        ("win32", {}, True),
    ],
)
def test_has_display(monkeypatch, platform, env, expected):
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert data.has_display() is expected


def test_an_existing_demo_of_another_preset_is_not_silently_reused(tiny_demo, capsys):
    argv = ["demo", "--headless", "--workspace", str(tiny_demo.path), "--preset", "default"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "'tiny' sample" in err and "--fresh" in err and len(err.splitlines()) == 1
