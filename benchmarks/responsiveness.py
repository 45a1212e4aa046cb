"""Does the viewer stay responsive while a model trains in the background? (issue 6)

Builds a workspace on the synthetic "default" preset (24 × 16 × 192 × 192,
seed 0) with the ground-truth nuclei of a few timepoints accepted, opens it
in a shown napari window with the ELEPHANT dock — run it under Xvfb:

    xvfb-run -a python benchmarks/responsiveness.py [--timepoints 0 12] [--live] [--keep DIR]

A 10 ms QTimer probe on the GUI thread records the interval between its
ticks, first with nothing running (baseline), then while one training round
(the workspace defaults: interactive, 100 steps, CPU threads = cores - 1)
runs through the dock's job runner — the same path as the Train button.
``--live`` then times one live round (an accepted nucleus → short training
round → the current timepoint re-predicted and merged), probing it too; the
edits and merges of that phase also trigger the autosave, which writes the
graph on the GUI thread (issue 5): its writes are timed and reported apart.
Target: no interval > 100 ms and a median < 20 ms during training.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from napari_elephant.core.graph import TrackingGraph
from napari_elephant.core.io.image import write_ome_zarr
from napari_elephant.core.synthetic import generate
from napari_elephant.core.workspace import Workspace

PROBE_MS = 10
MAX_TARGET_MS = 100.0
MEDIAN_TARGET_MS = 20.0


def build_workspace(root: Path, timepoints: list[int]) -> Path:
    """The default synthetic movie with the true nuclei of ``timepoints`` accepted."""
    movie = generate("default", seed=0)
    image = write_ome_zarr(root / "movie.ome.zarr", movie.image, movie.voxel_size)
    nuclei = [n for t in timepoints for n in movie.graph.nuclei_at(t)]
    graph = TrackingGraph.from_records(nuclei)
    return Workspace.create(root / "default.elephant", image, graph=graph).path


class Probe:
    """Intervals (ms) between the ticks of a precise QTimer on the GUI thread."""

    def __init__(self) -> None:
        from qtpy.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(self._tick)
        self.intervals: list[float] = []
        self._last: float | None = None

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.intervals.append((now - self._last) * 1000)
        self._last = now

    def start(self) -> None:
        self.intervals, self._last = [], None
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        return self.intervals


def run_until_idle(runner) -> float:
    """Run the event loop until the runner has nothing left; returns the seconds."""
    from qtpy.QtCore import QEventLoop, QTimer

    start = time.perf_counter()
    loop = QEventLoop()
    check = QTimer()
    check.setInterval(50)
    check.timeout.connect(lambda: None if runner.busy else loop.quit())
    check.start()
    loop.exec()
    check.stop()
    return time.perf_counter() - start


def spin(seconds: float) -> None:
    from qtpy.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def summary(name: str, intervals: list[float]) -> tuple[float, float]:
    arr = np.asarray(intervals)
    med, p95, worst = np.median(arr), np.percentile(arr, 95), arr.max()
    over = int((arr > MAX_TARGET_MS).sum())
    print(
        f"{name:<18} {len(arr):6d} ticks  median {med:6.1f} ms  p95 {p95:6.1f} ms  "
        f"max {worst:7.1f} ms  >{MAX_TARGET_MS:.0f} ms: {over}"
    )
    return float(med), float(worst)


def verdict(med: float, worst: float) -> str:
    ok = worst <= MAX_TARGET_MS and med < MEDIAN_TARGET_MS
    return "PASS" if ok else "FAIL"


def time_autosaves() -> list[float]:
    """Durations (ms) of every autosave write from now on (wraps the class's flush)."""
    from napari_elephant._napari.autosave import Autosaver

    durations: list[float] = []
    flush = Autosaver.flush

    def timed(self: Autosaver) -> bool:
        start = time.perf_counter()
        wrote = flush(self)
        if wrote:
            durations.append((time.perf_counter() - start) * 1000)
        return wrote

    Autosaver.flush = timed
    return durations


def live_round(dock, probe: Probe) -> tuple[float, list[float]]:
    """Accept one nucleus with live training on; time until the re-prediction is merged."""
    jobs, graph = dock.jobs, dock.session.graph
    target = int(graph.ids_at(0)[0])
    graph.set_status([target], "rejected")  # live mode still off: no round
    jobs.live.use_timer(None)  # measure the round itself, not the one-second pause
    dock.detection_panel.live_check.setChecked(True)
    probe.start()
    start = time.perf_counter()
    graph.set_status([target], "accepted")
    run_until_idle(jobs.runner)
    return time.perf_counter() - start, probe.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timepoints", type=int, nargs="+", default=[0, 12])
    parser.add_argument("--live", action="store_true", help="also time one live round")
    parser.add_argument("--keep", type=Path, help="build the workspace here (kept)")
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="responsiveness-"))
    root.mkdir(parents=True, exist_ok=True)
    path = build_workspace(root, args.timepoints)

    import napari

    from napari_elephant._qt.dock import ElephantDock

    saves = time_autosaves()  # before the dock connects the autosave's timer
    viewer = napari.Viewer(show=True)
    probe = Probe()
    probe.start()
    dock = ElephantDock(viewer)  # starts the warm-up imports in a background thread
    viewer.window.add_dock_widget(dock, name="ELEPHANT")
    while dock.jobs.warm_thread.is_alive():
        spin(0.1)
    summary("dock + warm-up", probe.stop())
    ws = dock.session.open_workspace(path)
    spin(1.0)
    training = ws.params.training
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, load "
        f"{os.getloadavg()[0]:.1f}; {len(ws.graph)} accepted nuclei at t = {args.timepoints}; "
        f"training {training.mode}, {training.steps} steps; device {ws.params.device.device}, "
        f"cpu_threads {ws.params.device.cpu_threads}"
    )
    probe.start()
    spin(2.0)
    summary("idle", probe.stop())
    probe.start()
    dock.jobs.train()
    seconds = run_until_idle(dock.jobs.runner)
    record = dock.jobs.runner.records[-1]
    med, worst = summary("training", probe.stop())
    print(f"training round: {record.status}, {record.summary}; {seconds:.1f} s wall")
    if args.live:
        saves.clear()
        seconds, intervals = live_round(dock, probe)
        summary("live round", intervals)
        longest = max(saves, default=0.0)
        print(f"autosaves on the GUI thread meanwhile: {len(saves)}, longest {longest:.0f} ms")
        names = [f"{r.name} ({r.elapsed:.1f} s)" for r in dock.jobs.runner.records[-2:]]
        print(f"live round: edit → re-predicted timepoint merged in {seconds:.1f} s: {names}")
    print(
        f"{verdict(med, worst)}: training stalls max {worst:.0f} ms (target ≤ "
        f"{MAX_TARGET_MS:.0f}), median interval {med:.1f} ms (target < {MEDIAN_TARGET_MS:.0f})"
    )
    viewer.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
