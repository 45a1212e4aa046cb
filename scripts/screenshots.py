"""Screenshots of the proofreading guide (docs/proofreading.md), taken under Xvfb.

    xvfb-run -a .venv/bin/python scripts/screenshots.py docs/images

Builds a workspace in a temporary folder from the sample movie (the "default"
synthetic preset, seed 0) in the state a user meets half-way through
proofreading: the first timepoints accepted, the rest predicted, a few false
detections rejected, the lineage linked.  Opens it the way ``napari-elephant
demo`` does (a shown window: a hidden viewer screenshots black, DESIGN §9),
steps to a timepoint, selects a nucleus and saves:

- ``proofreading_viewer.png``: the whole window (nuclei, outlines, tracks,
  the ELEPHANT dock with its counter, the Lineage dock);
- ``proofreading_lineage.png``: the Lineage dock, all trees and the selected
  lineage only, side by side;
- ``proofreading_keys.png``: the ELEPHANT dock's Keys tab during a rebinding.

A PNG over MAX_BYTES is reduced to a 256-colour palette (the others keep all
their colours: a palette can drop rare ones, such as the lineage's yellow
ring).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

WINDOW = (1280, 800)  # px
MAX_BYTES = 200_000  # per PNG
GAP_PX = 8  # between the two lineage pictures
TIMEPOINT = 8  # the timepoint shown
ACCEPTED_UNTIL = 6  # the timepoints before this one are proofread
N_FALSE = 2  # false detections per timepoint: rejected up to TIMEPOINT, predicted after
FALSE_OFFSET_UM = (0.0, 4.0, 4.0)  # where a false detection sits, from a real nucleus
LINEAGE_SHARE = 0.4  # of the right-hand column, in the whole-window picture
REBIND = ("elephant:grow", "R")  # typed in the Keys tab for its picture, not applied


# ------------------------------------------------------------ the workspace
def build_workspace(root: Path) -> Path:
    """A workspace of the sample movie, half proofread (see the module docstring)."""
    from napari_elephant.core.graph import Link, Origin, Status
    from napari_elephant.core.sample import write_sample
    from napari_elephant.core.workspace import Workspace

    files = write_sample(root / "sample", preset="default", seed=0)
    ws = Workspace.create(root / "embryo.elephant", files.movie, overwrite=True)
    truth = files.data.graph
    accepted = {n.id for n in truth.nuclei() if n.t < ACCEPTED_UNTIL}
    accepted |= _left_half(truth, TIMEPOINT)
    ws.graph.add_nuclei(
        n.with_(status=Status.ACCEPTED, origin=Origin.MANUAL)
        if n.id in accepted
        else n.with_(status=Status.PREDICTED, origin=Origin.PREDICTED)
        for n in truth.nuclei()
    )
    ws.graph.add_nuclei(_false_detections(truth, ws.graph.next_id))
    ws.graph.add_links(
        Link(p, c, Status.ACCEPTED if c in accepted else Status.PREDICTED)
        for p, c in (lk.key for lk in truth.links())
    )
    ws.graph.history.clear()
    ws.save()
    return ws.path


def _left_half(truth: Any, t: int) -> set[int]:
    """The nuclei of timepoint t left of the middle: the part already proofread."""
    nuclei = truth.nuclei_at(t)
    middle = float(np.median([n.center[2] for n in nuclei]))
    return {n.id for n in nuclei if n.center[2] < middle}


def _false_detections(truth: Any, first_id: int) -> list[Any]:
    """A few spurious nuclei beside real ones (new records, hence ``replace``)."""
    from napari_elephant.core.graph import Origin, Status

    out, nid = [], first_id
    for t in truth.timepoints():
        status = Status.REJECTED if t <= TIMEPOINT else Status.PREDICTED
        for n in truth.nuclei_at(t)[:N_FALSE]:
            center = tuple(float(c) for c in np.add(n.center, FALSE_OFFSET_UM))
            out.append(replace(n, id=nid, center=center, status=status, origin=Origin.PREDICTED))
            nid += 1
    return out


# ---------------------------------------------------------------- the window
def open_viewer(path: Path) -> Any:
    """The viewer as ``napari-elephant demo`` opens it, shown, at WINDOW size."""
    from napari_elephant._qt.launch import launch_viewer

    viewer = launch_viewer(path, run=False, show=True)
    viewer.window._qt_window.resize(*WINDOW)
    settle()
    viewer.reset_view()
    return viewer


def settle(rounds: int = 20) -> None:
    """Let Qt lay out and paint (the counter's and the lineage's timers included)."""
    from qtpy.QtWidgets import QApplication

    for _ in range(rounds):
        QApplication.processEvents()
        time.sleep(0.02)


def select_nucleus(viewer: Any) -> None:
    """Step to TIMEPOINT and select a predicted nucleus near the middle of the field
    whose lineage has a division (a fork to show in the Lineage dock), as a user
    would: the nuclei layer active in select mode."""
    from napari_elephant._napari.session import session_for
    from napari_elephant._napari.viewer_dims import set_t
    from napari_elephant.core.graph import Status

    p = session_for(viewer).start_proofreading()
    layer, graph = p.session.layers["nuclei"], p.session.graph
    viewer.layers.selection.active = layer
    layer.mode = "select"
    set_t(viewer, TIMEPOINT)
    here = graph.nuclei_at(TIMEPOINT)
    middle = np.mean([n.center for n in here], axis=0)
    chosen = [n for n in here if n.status == Status.PREDICTED and _divides(graph, n.id)]
    target = min(chosen, key=lambda n: float(np.linalg.norm(np.subtract(n.center, middle))))
    p.navigator.jump(target.id)  # slices through it and selects it
    viewer.reset_view()  # the whole field in view
    settle()


def _divides(graph: Any, nid: int) -> bool:
    """Whether the tree holding nid has a nucleus with two children."""
    while graph.parent(nid) is not None:
        nid = graph.parent(nid)
    todo = [nid]
    while todo:
        children = graph.children(todo.pop())
        if len(children) > 1:
            return True
        todo += children
    return False


def dock_widget(widget: Any) -> Any:
    """The QDockWidget holding one of our widgets."""
    from qtpy.QtWidgets import QDockWidget

    while not isinstance(widget, QDockWidget):
        widget = widget.parentWidget()
    return widget


def share_height(viewer: Any, upper: Any, lower: Any, share: float) -> None:
    """Give the lower dock this share of the right-hand column."""
    from qtpy.QtCore import Qt

    total = upper.height() + lower.height()
    heights = [round(total * (1 - share)), round(total * share)]
    viewer.window._qt_window.resizeDocks([upper, lower], heights, Qt.Orientation.Vertical)
    settle()


# -------------------------------------------------------------- the pictures
def save(pixmap: Any, path: Path) -> None:
    """A Qt pixmap as a PNG (see save_image)."""
    from PIL import Image

    raw = path.with_suffix(".raw.png")
    pixmap.save(str(raw), "PNG")
    with Image.open(raw) as img:
        save_image(img.convert("RGB"), path)
    raw.unlink()


def save_image(img: Any, path: Path) -> None:
    """RGB PNG, or a 256-colour palette when that is over MAX_BYTES."""
    from PIL import Image

    img.save(path, optimize=True)
    if path.stat().st_size > MAX_BYTES:
        img.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)
    print(f"{path} ({path.stat().st_size // 1024} KB)")


def side_by_side(grabs: list[Any], path: Path) -> None:
    """Qt pixmaps in one picture, left to right, GAP_PX apart."""
    from PIL import Image
    from PIL.ImageQt import fromqpixmap

    images = [fromqpixmap(g).convert("RGB") for g in grabs]
    width = sum(i.width for i in images) + GAP_PX * (len(images) - 1)
    out = Image.new("RGB", (width, max(i.height for i in images)), "white")
    x = 0
    for img in images:
        out.paste(img, (x, 0))
        x += img.width + GAP_PX
    save_image(out, path)


def shoot_lineage(lineage: Any, upper: Any, path: Path) -> None:
    """All trees, then the selected lineage only; the ELEPHANT dock hidden meanwhile so
    that the trees get the whole column (floating the Lineage dock instead would
    reparent its OpenGL canvas, which vispy does not survive under Xvfb/Mesa)."""
    upper.hide()
    settle()
    lineage.fit()
    settle()
    grabs = [lineage.grab()]
    lineage.lineage_only.setChecked(True)
    settle()
    grabs.append(lineage.grab())
    side_by_side(grabs, path)
    lineage.lineage_only.setChecked(False)
    upper.show()
    settle()


def shoot_keys(dock: Any, path: Path) -> None:
    """The Keys tab half-way through a rebinding: a row picked, the new key typed."""
    from qtpy.QtGui import QKeySequence

    dock.keys_panel.select_action(REBIND[0])
    dock.keys_panel.key_edit.setKeySequence(QKeySequence(REBIND[1]))
    dock.tabs.setCurrentWidget(dock.keys_panel)
    settle()
    save(dock.grab(), path)


def shoot(out: Path) -> None:
    from napari_elephant._qt.launch import dock_for, lineage_dock_for

    with tempfile.TemporaryDirectory() as tmp:
        viewer = open_viewer(build_workspace(Path(tmp)))
        select_nucleus(viewer)
        dock, lineage = dock_for(viewer), lineage_dock_for(viewer)
        upper, lower = dock_widget(dock), dock_widget(lineage)
        share_height(viewer, upper, lower, LINEAGE_SHARE)
        save(viewer.window._qt_window.grab(), out / "proofreading_viewer.png")
        shoot_lineage(lineage, upper, out / "proofreading_lineage.png")
        shoot_keys(dock, out / "proofreading_keys.png")
        viewer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the PNGs (e.g. docs/images)")
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY"):
        print("no display: run it under xvfb-run -a", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    shoot(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
