"""Viewer speed at the scale of the published lineage (issue 5), in a real window.

Builds a workspace of ~300k nuclei and ~300k links over 500 timepoints (600
random walkers per timepoint, statuses mixed, a lazy OME-Zarr movie of the
right length), then opens it in a shown napari viewer — run it under Xvfb:

    xvfb-run -a python benchmarks/viewer_speed.py [--timepoints 500] [--keep DIR]

and times: opening (Workspace.open + layers + first paint, once the dock's
background imports are done, as they are before a user has picked a file), stepping one
timepoint (the layer swap, then the paint), a z step, an edit at the current
timepoint and its undo, a time step in 3D, and time steps with the image alone.
Every dock is open while it measures (the ELEPHANT dock, the lineage view and
the analysis dock, as a user has them; ``--docks none`` for the bare viewer).
Targets (issue 15): open < 5 s; one time step < 50 ms median, < 100 ms p95.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from linking_speed import random_walks
from napari_elephant.core.graph import Link, TrackingGraph
from napari_elephant.core.io.image import write_ome_zarr
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import Workspace

OPEN_TARGET_S = 5.0
STEP_TARGET_MS = 50.0
STEP_P95_TARGET_MS = 100.0
VOXEL = VoxelSize(2.0, 1.0, 1.0)
STATUSES = ("predicted", "accepted", "rejected", "accepted")


def build_workspace(root: Path, n_t: int, per_t: int) -> Path:
    """Random walks with their true links, mixed statuses, rotated ellipsoids."""
    nuclei, truth = random_walks(n_t, per_t, seed=0)
    rng = np.random.default_rng(1)
    covs = _random_covs(rng, len(nuclei))
    records = [
        n.__class__(n.id, n.t, n.center, tuple(c), STATUSES[n.id % 4])
        for n, c in zip(nuclei, covs.tolist(), strict=True)
    ]
    graph = TrackingGraph.from_records(records, [Link(p, c) for p, c in sorted(truth)])
    movie = np.zeros((n_t, 20, 150, 150), dtype=np.uint8)  # box 40 × 150 × 150 µm
    movie[:, 10, 75, 75] = 200
    image = write_ome_zarr(root / "movie.ome.zarr", movie, VOXEL)
    return Workspace.create(root / "big.elephant", image, graph=graph).path


def _random_covs(rng: np.random.Generator, n: int) -> np.ndarray:
    """Six-value covariances of rotated ellipsoids with semi-axes 1.5–3 µm."""
    q, _ = np.linalg.qr(rng.normal(size=(n, 3, 3)))
    radii = rng.uniform(1.5, 3.0, size=(n, 3))
    cov = q @ (radii[:, :, None] ** 2 * np.swapaxes(q, 1, 2))
    return cov[:, [0, 0, 0, 1, 1, 2], [0, 1, 2, 1, 2, 2]]


def paint(viewer) -> None:
    """Let Qt run the pending slicing and paint events."""
    from qtpy.QtWidgets import QApplication

    viewer.window._qt_viewer.canvas.native.update()
    QApplication.processEvents()


def time_steps(viewer, axis: int, values: list[float]) -> tuple[list[float], list[float]]:
    """(update, update + paint) seconds per dims step."""
    upd, total = [], []
    for v in values:
        start = time.perf_counter()
        viewer.dims.set_point(axis, v)
        mid = time.perf_counter()
        paint(viewer)
        upd.append(mid - start)
        total.append(time.perf_counter() - start)
    return upd, total


def ms(xs: list[float], q: float = 0.5) -> float:
    return 1000 * (statistics.median(xs) if q == 0.5 else float(np.quantile(xs, q)))


def open_docks(viewer) -> None:
    """The ELEPHANT dock, the lineage view and the analysis dock, docked as a user
    opens them from the Plugins menu."""
    from napari_elephant._qt.launch import PLUGIN, dock_for, lineage_dock_for

    dock_for(viewer)
    lineage_dock_for(viewer)
    return viewer.window.add_plugin_dock_widget(PLUGIN, "Analysis")[1]


def run(path: Path, n_t: int, docks: bool = True) -> dict[str, float]:
    import napari

    from napari_elephant._napari.session import session_for

    viewer = napari.Viewer(show=True)
    session = session_for(viewer)
    analysis = open_docks(viewer) if docks else None
    paint(viewer)
    warm = time.perf_counter()
    if session.jobs is not None:  # the dock's one-time imports, in a background thread
        session.jobs.warm_thread.join()
    warm_s = time.perf_counter() - warm
    start = time.perf_counter()
    ws = session.open_workspace(path)
    paint(viewer)
    out = {
        "open_s": time.perf_counter() - start,
        "warm_up_wait_s": warm_s,
        "nuclei": len(ws.graph),
    }
    while analysis is not None and analysis.reading:  # its worker thread reads the lineage
        paint(viewer)
    out["analysis_ready_s"] = time.perf_counter() - start
    out["links"] = ws.graph.n_links
    steps = list(range(1, min(n_t, 101)))
    upd, total = time_steps(viewer, 0, steps)
    out |= {"step_update_ms": ms(upd), "step_ms": ms(total), "step_p95_ms": ms(total, 0.95)}
    out["step_max_ms"] = 1000 * max(total)
    z = viewer.dims.point[1]
    zs = [z + 2.0 * (i % 5) for i in range(30)]
    out["z_step_ms"] = ms(time_steps(viewer, 1, zs)[1])
    out |= time_edit(viewer, session)
    out["counts_first_ms"] = 1000 * _timed(session.status_counts)
    out["counts_ms"] = 1000 * _timed(session.status_counts)
    viewer.dims.ndisplay = 3  # nuclei as spheres of equal volume (Points in 3D)
    paint(viewer)
    out["step_3d_ms"] = ms(time_steps(viewer, 0, steps[:30])[1])
    viewer.dims.ndisplay = 2
    for layer in [lyr for lyr in viewer.layers if lyr is not session.layers["image"]]:
        layer.visible = False
    out["image_step_ms"] = ms(time_steps(viewer, 0, steps[::-1])[1])
    viewer.close()
    return out


def time_edit(viewer, session) -> dict[str, float]:
    graph = session.graph
    t = round(viewer.dims.point[0])
    ids = graph.ids_at(t)[:5].tolist()
    edit = _timed(lambda: (graph.set_status(ids, "accepted"), paint(viewer)))
    undo = _timed(lambda: (session.graph.undo(), paint(viewer)))
    other = _timed(
        lambda: (graph.set_status(graph.ids_at(t + 200)[:5], "rejected"), paint(viewer))
    )
    return {"edit_ms": 1000 * edit, "undo_ms": 1000 * undo, "edit_elsewhere_ms": 1000 * other}


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timepoints", type=int, default=500)
    parser.add_argument("--per-timepoint", type=int, default=600)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the workspace here")
    parser.add_argument("--docks", choices=("all", "none"), default="all")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp())
    root.mkdir(parents=True, exist_ok=True)
    path = root / "big.elephant"
    if not path.exists():
        start = time.perf_counter()
        build_workspace(root, args.timepoints, args.per_timepoint)
        print(f"built the workspace in {time.perf_counter() - start:.1f} s ({path})")
    figures = run(path, args.timepoints, docks=args.docks == "all")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, display {os.environ.get('DISPLAY')}"
    )
    for key, value in figures.items():
        print(f"{key:>20}: {value:.1f}" if isinstance(value, float) else f"{key:>20}: {value}")
    checks = {
        f"open < {OPEN_TARGET_S:.0f} s": figures["open_s"] < OPEN_TARGET_S,
        f"time step < {STEP_TARGET_MS:.0f} ms (median)": figures["step_ms"] < STEP_TARGET_MS,
        f"time step < {STEP_P95_TARGET_MS:.0f} ms (p95)": figures["step_p95_ms"]
        < STEP_P95_TARGET_MS,
    }
    print(f"docks: {args.docks}")
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")


if __name__ == "__main__":
    main()
