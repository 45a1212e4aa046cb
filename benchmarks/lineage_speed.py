"""Lineage view at the scale of a published lineage (issue 5): 300k nuclei, 500 timepoints.

Builds the random dividing lineage of ``graph_scale.py`` (~315k nuclei and
links over 500 timepoints; a third of the nuclei are rejected, so ~210k are
lineage), saves it in a workspace next to a small movie of 500 timepoints,
opens it in a real napari window (run under Xvfb: ``xvfb-run -a``) with the
Lineage dock, then times what the user waits for:

- the layout itself (reading the graph's records + the vectorised layout);
- a click on a node of the tree until both the viewer and the tree have
  repainted at the nucleus' t/z/y/x (target < 150 ms, median);
- a selection made elsewhere until the tree has scrolled to it and repainted.

    xvfb-run -a python benchmarks/lineage_speed.py [--timepoints 500] [--start 420] [--clicks 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from graph_scale import build_lineage
from napari_elephant.core.graph import TrackingGraph
from napari_elephant.core.io.image import write_ome_zarr
from napari_elephant.core.lineage_layout import layout_lineage
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import ImageRef, Workspace

VOXEL = VoxelSize(20.0, 5.0, 5.0)  # the lineage's centres span 0-300 µm
MOVIE_SHAPE = (16, 64, 64)  # per timepoint: a light movie, the cost here is the graph


def make_workspace(root: Path, n_t: int, n_start: int) -> tuple[Path, float]:
    """A workspace holding the big lineage and a small noise movie; returns build time."""
    start = time.perf_counter()
    nuclei, links = build_lineage(n_t, n_start)
    graph = TrackingGraph.from_records(nuclei, links)
    rng = np.random.default_rng(0)
    movie = rng.integers(0, 40, size=(n_t, *MOVIE_SHAPE), dtype=np.uint8)
    image = write_ome_zarr(root / "movie.ome.zarr", movie, VOXEL)
    ws = Workspace(root / "big.elephant", ImageRef(str(image)), VOXEL, graph=graph)
    ws.path.mkdir(parents=True, exist_ok=True)
    ws.save_settings()
    ws.save_graph()
    return ws.path, time.perf_counter() - start


class PaintWatch:
    """Waits until given vispy canvases have drawn (processing Qt events meanwhile)."""

    def __init__(self, app, canvases: dict[str, object]) -> None:
        self.app = app
        self.drawn: dict[str, float] = {}
        for name, canvas in canvases.items():
            canvas.events.draw.connect(
                lambda _e, n=name: self.drawn.setdefault(n, time.perf_counter())
            )

    def measure(self, action: Callable[[], None], names: tuple[str, ...]) -> tuple[float, float]:
        """(seconds until the action returned, seconds until every named canvas painted)."""
        self.settle()
        self.drawn.clear()
        start = time.perf_counter()
        action()
        handled = time.perf_counter() - start
        deadline = start + 10.0
        while not all(n in self.drawn for n in names) and time.perf_counter() < deadline:
            self.app.processEvents()
        painted = max((self.drawn.get(n, deadline) for n in names), default=start) - start
        return handled, painted

    def settle(self, seconds: float = 0.3) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            self.app.processEvents()
            time.sleep(0.005)


def click_node(view, nucleus_id: int) -> Callable[[], None]:
    """Put the node on screen (not timed), return the click (timed)."""
    from qtpy.QtCore import QPoint, Qt
    from qtpy.QtTest import QTest

    lay = view.layout_
    i = lay.index_of(nucleus_id)
    view.renderer.view.camera.rect = (lay.x[i] - 20, lay.t[i] - 20, 40, 40)

    def click() -> None:
        x, y = view.node_pixel(nucleus_id)
        QTest.mouseClick(view.renderer.native, Qt.MouseButton.LeftButton, pos=QPoint(x, y))

    return click


def ms(values: list[float]) -> str:
    arr = np.array(values) * 1000
    p50, p90 = np.median(arr), np.percentile(arr, 90)
    return f"median {p50:.0f} ms, p90 {p90:.0f} ms, max {arr.max():.0f} ms"


def run(args: argparse.Namespace) -> None:
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_elephant._napari.session import session_for
    from napari_elephant._qt.launch import lineage_dock_for

    path, t_build = make_workspace(Path(tempfile.mkdtemp()), args.timepoints, args.start)
    print(f"built and saved the workspace in {t_build:.1f} s")
    app = QApplication.instance() or QApplication([])
    viewer = napari.Viewer(show=True)
    start = time.perf_counter()
    graph = session_for(viewer).open_workspace(path).graph
    t_open = time.perf_counter() - start
    view = lineage_dock_for(viewer)
    t_dock = time.perf_counter() - start - t_open
    watch = PaintWatch(
        app,
        {"viewer": viewer.window._qt_viewer.canvas._scene_canvas, "lineage": view.renderer.canvas},
    )
    watch.settle(1.0)
    layouts = [timed(layout_lineage, graph) for _ in range(3)]
    rng = np.random.default_rng(1)
    targets = rng.choice(view.layout_.ids, size=args.clicks, replace=False).tolist()
    clicks, handled = [], []
    for nid in targets:
        h, p = watch.measure(click_node(view, nid), ("viewer", "lineage"))
        assert view.selection.current == nid and viewer.dims.point[0] == graph.nucleus(nid).t
        handled.append(h)
        clicks.append(p)
    parts = breakdown(watch, view, graph, rng.choice(view.layout_.ids, size=10, replace=False))
    scrolls = [
        watch.measure(lambda n=n: view.selection.select_one(n), ("lineage",))[1]
        for n in rng.choice(view.layout_.ids, size=10, replace=False).tolist()
    ]
    report(graph, view, t_open, t_dock, layouts, handled, clicks, scrolls)
    for name, values in parts.items():
        print(f"  of which {name}: {ms(values)}")
    viewer.close()


def breakdown(watch: PaintWatch, view, graph, ids: np.ndarray) -> dict[str, list[float]]:
    """The two halves of a click, each until painted: the selection (every view that
    listens to it, the tree's highlight among them) and the viewer's move."""
    from napari_elephant._qt.lineage_view import jump_viewer

    out: dict[str, list[float]] = {"selection (all listeners)": [], "viewer move (napari)": []}
    for nid in ids.tolist():
        n = graph.nucleus(nid)
        sel = watch.measure(lambda n=n: view.selection.select_one(n.id), ("lineage",))
        out["selection (all listeners)"].append(sel[1])
        move = watch.measure(lambda n=n: jump_viewer(view.viewer, n.t, n.center), ("viewer",))
        out["viewer move (napari)"].append(move[1])
    return out


def timed(fn: Callable, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def report(graph, view, t_open, t_dock, layouts, handled, clicks, scrolls) -> None:
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"graph: {len(graph):,} nuclei, {graph.n_links:,} links, "
        f"{len(graph.timepoints())} timepoints; lineage: {len(view.layout_):,} nuclei, "
        f"{view.layout_.n_columns:,} leaves"
    )
    print(
        f"open workspace (layers) {t_open:.1f} s; lineage dock incl. first layout {t_dock:.2f} s"
    )
    print(f"layout (read graph + lay out): median {statistics.median(layouts) * 1000:.0f} ms")
    print(f"click -> select + viewer moved (handler returned): {ms(handled)}")
    print(f"click -> viewer and tree repainted: {ms(clicks)}")
    print(f"selection elsewhere -> tree scrolled and repainted: {ms(scrolls)}")
    ok = statistics.median(clicks) < 0.150
    print(f"{'PASS' if ok else 'FAIL'}  select a node in the lineage and jump < 150 ms (median)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timepoints", type=int, default=500)
    ap.add_argument("--start", type=int, default=420, help="nuclei at t=0")
    ap.add_argument("--clicks", type=int, default=20)
    run(ap.parse_args())


if __name__ == "__main__":
    main()
