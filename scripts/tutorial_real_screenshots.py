"""Screenshots and scores of the real-movie tutorial (docs/tutorial_real.md), under Xvfb.

    xvfb-run -a .venv/bin/python scripts/tutorial_real_screenshots.py [docs/images]

Drives the real viewer and the ELEPHANT dock through the chapter on the HeLa
2D+t movie, every setting at its default: the TIFF opened with the plugin's
reader; a workspace from the dock's Create, whose "2D movie or 3D stack?"
question is answered as a user would (2D movie, 0.645 µm pixels); the Nuclei
box before and after ten nuclei clicked at t = 0 (scripts/tutorial_real_user.py
picks and fits them); one training round (from the pretrained model); a
prediction of every timepoint; linking; the first timepoint proofread with
N, 4 and 5 (judged by the silver truth and the edge nuclei it leaves out);
Save; the ``export`` (CSV, CTC masks) and ``evaluate --dmax 4`` commands.
Then the silver truth is opened over the result where it is wrong, and the
CHO thin stack goes through the same loop with five clicks.

Prints the scores the chapter quotes and the run time.  Torch runs on one CPU
thread (the workspace's CPU threads set to 1 as well); training is seeded.
The pictures go to ``tutorial_real_*.png``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

sys.path.insert(0, str(Path(__file__).resolve().parent))
import screenshots as shots  # scripts/ is not a package: found through sys.path
import tutorial_real_user as user
import tutorial_user
from tutorial_screenshots import (
    grab_window,
    last_line,
    predict,
    run_cli,
    run_shoot,
    show_tab,
    train,
    type_text,
    wait_for_jobs,
)

WINDOW = (1400, 860)  # px
SEED = 0  # training seed: the rerun gives the same round
PROOFREAD_UNTIL = 1  # timepoints 0 .. PROOFREAD_UNTIL - 1 are checked with N / 4 / 5
LINEAGE_SHARE = 0.35  # of the right-hand column, in the proofreading picture
ZOOM = 2.5  # the user zooms in to proofread
CLOSE_ZOOM = 4.0  # ... and further to look at one nucleus
MISTAKES_T = 10  # the timepoint of the silver-truth pictures
MERGED = 1575  # silver-truth id of two touching nuclei labelled as one (t = 10)
DIM = (1494, 1497, 1504, 1510, 1529)  # silver-truth ids of barely visible nuclei (t = 10)
TRUTH_COLOUR = "orange"
IMAGE_LAYER = "Fluo_Hela_02_img"  # named after the file
EDGE_VIEW_UM = 80.0  # about half the width of a close-up
EDGE_MARGIN_UM = 10.0  # a close-up shows at most this much beyond the image edge


# ------------------------------------------------------------ 1. open, create
def open_movie(viewer: Any, movie: user.RealMovie) -> Any:
    """File ▸ Open (or a drop), the napari-elephant reader picked."""
    (layer,) = viewer.open(str(user.DATA / movie.image), plugin="napari-elephant")
    shots.settle()
    return layer


def answer_axes(out: Path | None, pixel_um: float) -> Any:
    """What the user does with "2D movie or 3D stack?": keeps "2D movie", types the
    pixel size in y and x, presses OK.  The dock's own question waits in exec() for a
    click; this one shows the same dialog, fills it in, pictures it (when ``out``)
    and reads its answer, as tests/_qt/test_axes_question.py does."""
    from napari_elephant._qt.workspace_panel import AxesDialog

    def ask(parent: Any, layer: Any, need_voxel: bool, start: Any) -> Any:
        shape = tuple(int(s) for s in layer.data.shape)
        dialog = AxesDialog(layer.name, shape, need_voxel, start, parent)
        for spin in dialog.spins[1:]:
            spin.setValue(pixel_um)
        dialog.show()
        shots.settle()
        if out is not None:
            shots.save(dialog.grab(), out / "tutorial_real_02_axes.png")
        answer = dialog.answer()
        dialog.close()
        return answer

    return ask


def create_workspace(viewer: Any, dock: Any, movie: user.RealMovie, layer: Any, out: Path) -> Any:
    """The Create box filled in (voxel size typed when the boxes are editable) and
    clicked; the HeLa window is pictured just before."""
    from napari_elephant._qt import workspace_panel

    panel = dock.workspace_panel
    panel.layer_combo.setCurrentText(layer.name)
    for spin, value in zip(panel.voxel_spins, movie.voxel, strict=True):
        if spin.isEnabled():
            spin.setValue(value)
    panel.create_path.setText(f"{movie.name}.elephant")
    show_tab(dock, "Workspace")
    first = movie is user.HELA
    if first:
        grab_window(viewer, out / "tutorial_real_01_open.png")
    answer = answer_axes(out if first else None, movie.voxel[1])
    asking, workspace_panel.ask_axes = workspace_panel.ask_axes, answer
    try:
        panel.create_button.click()
    finally:
        workspace_panel.ask_axes = asking
    shots.settle()
    ws = dock.session.workspace
    print(f"created {ws.path.name}: image {ws.image_path()}, voxel {ws.voxel_size.as_tuple()} µm")
    return ws


def one_thread_and_a_seed(dock: Any) -> None:
    """Models tab: CPU threads 1 (a shared machine); More training settings: seed."""
    dock.models_panel.device_form.widget("cpu_threads").setValue(1)
    type_text(dock.detection_panel.more_training_form.widget("seed"), str(SEED))


# ----------------------------------------------------------- 2. size, clicks
def size_box(dock: Any) -> Any:
    """The Detection tab's Nuclei box, after a click on Measure."""
    det = dock.detection_panel
    show_tab(dock, "Detection")
    print(f"Nuclei box before Measure: {det.size_label.text()}")
    det.show_size()
    print(f"Nuclei box: diameter {det.size_form.widget('nucleus_diameter').text()!r}; "
          f"{det.size_label.text()}")  # fmt: skip
    shots.settle()
    return det.size_form.parentWidget().grab()


def annotate(viewer: Any, dock: Any, tools: Any, look: Any, truth: Any, out: Path) -> None:
    """Ten clicks at t = 0, with the Nuclei box pictured before and after."""
    movie, voxel = look
    before = size_box(dock)
    for nucleus in user.clicks(truth, movie, voxel, user.HELA.clicks):
        user.add_like_a_user(viewer, tools, nucleus, voxel[0])
    after = size_box(dock)
    shots.side_by_side([before, after], out / "tutorial_real_03_size.png")
    tools.session.reset_view()
    shots.settle(40)
    grab_window(viewer, out / "tutorial_real_04_clicked.png")


def link_defaults(dock: Any) -> str:
    """The Linking tab's Link button, nothing changed."""
    show_tab(dock, "Linking")
    dock.linking_panel.link_button.click()
    wait_for_jobs(dock.jobs.runner)
    return last_line(dock.jobs.runner)


# ------------------------------------------------------------- 3. proofread
def proofread(viewer: Any, docks: tuple[Any, Any], tools: Any, eye: tuple, out: Path) -> None:
    """N / 4 / 5 over the first timepoint, zoomed in, then A on the nuclei the model
    missed; the window is pictured at the first N (the least confident nucleus),
    with the Lineage dock's info line.  ``eye``: (what a person sees, the movie)."""
    from napari_elephant._napari.viewer_dims import camera, set_t

    dock, lineage = docks
    tools.session.selection.clear()  # a click on an empty spot: N starts at the top
    set_t(viewer, 0)
    camera(viewer).zoom *= ZOOM
    upper, lower = shots.dock_widget(dock), shots.dock_widget(lineage)
    shots.share_height(viewer, upper, lower, LINEAGE_SHARE)

    def picture(nucleus: Any, checked: int) -> None:
        if checked == 0:
            shots.settle(40)
            print(f"first N: {lineage.info.text()}")
            grab_window(viewer, out / "tutorial_real_06_proofreading.png")

    seen, look = eye
    tutorial_user.MATCH_UM = user.DMAX_UM  # matched as the score matches
    checked = tutorial_user.proofread(tools, seen, PROOFREAD_UNTIL, picture)
    graph = tools.session.graph
    rejected = sum(n.status.value == "rejected" for n in graph.nuclei() if n.t < PROOFREAD_UNTIL)
    added = sum(user.add_missed(viewer, tools, seen, look, t) for t in range(PROOFREAD_UNTIL))
    print(f"proofread {checked} nuclei at t < {PROOFREAD_UNTIL}: {checked - rejected} "
          f"accepted, {rejected} rejected; {added} missed nuclei added with A")  # fmt: skip
    tools.session.selection.clear()


# ---------------------------------------------------------- 4. export, score
def export_and_evaluate(ws: Path, movie: user.RealMovie, export: bool = True) -> None:
    """The commands of the chapter, on the saved workspace (their output is printed)."""
    if export:
        run_cli("export", str(ws), f"{movie.name}.csv")
        run_cli("export", str(ws), f"{movie.name}_ctc", "--format", "ctc")
        print("\n".join(Path(f"{movie.name}.csv").read_text().splitlines()[:2]))
        folder = Path(f"{movie.name}_ctc")
        files = sorted(p.name for p in folder.iterdir())
        mask = tifffile.imread(folder / files[0])
        print(f"{folder}/: {', '.join(files[:3])}, …, {files[-1]} ({len(files)} files); "
              f"{files[0]} is {' × '.join(map(str, mask.shape))} {mask.dtype}")  # fmt: skip
    run_cli("evaluate", str(ws), str(user.DATA / movie.truth), "--dmax", f"{user.DMAX_UM:g}")


def explain_misses(graph: Any, truth: Any, seen: Any, look: tuple[np.ndarray, Any]) -> None:
    """How many of the score's false nuclei are the silver truth's own mistakes."""
    from napari_elephant.core.metrics import evaluate

    movie, voxel = look
    fp, fn = user.misses(graph, truth)
    edge = [i for i in fp if user.at_edge(movie, graph.nucleus(i), voxel)]
    dim = [i for i in fn if user.brightness(movie, truth.nucleus(i), voxel) < user.FAINT]
    print(f"against the silver truth: {len(fp)} false positives, {len(edge)} of them cut by "
          f"the image edge; {len(fn)} false negatives, {len(dim)} of them barely visible "
          f"(brightness < {user.FAINT})")  # fmt: skip
    fixed = evaluate(graph, seen, user.DMAX_UM).detection
    print(f"against the silver truth plus the {len(seen) - len(truth)} edge nuclei it leaves "
          f"out: detection TP {fixed.tp} FP {fixed.fp} FN {fixed.fn}, precision "
          f"{fixed.precision:.4f} recall {fixed.recall:.4f} F1 {fixed.f1:.4f}")  # fmt: skip


# ------------------------------------------------------ 5. the truth's mistakes
def open_truth(viewer: Any, truth: Any) -> Any:
    """The silver truth opened over the result (File ▸ Open, napari-elephant), drawn as
    orange rings as wide as each nucleus, its tracks hidden."""
    layers = viewer.open(str(user.DATA / user.HELA.truth), plugin="napari-elephant")
    nuclei = next(layer for layer in layers if layer.name.endswith("nuclei"))
    for layer in layers:
        layer.visible = layer is nuclei
    ids = nuclei.features["id"].to_numpy()
    nuclei.size = [2 * user.lateral_radius(truth.nucleus(int(i))) for i in ids]
    nuclei.face_color = "transparent"
    nuclei.border_color = TRUTH_COLOUR
    nuclei.border_width = 0.06  # of the size
    return nuclei


def canvas_at(viewer: Any, t: int, centre: Any, path: Path) -> None:
    """A square of the canvas, at timepoint t, zoomed in on a point (µm) with at most
    EDGE_MARGIN_UM beyond the image edge in view."""
    from PIL import Image

    from napari_elephant._napari.viewer_dims import camera, centre_on

    cam = camera(viewer)
    cam.zoom = CLOSE_ZOOM
    side = min(viewer.screenshot(canvas_only=True, flash=False).shape[:2])  # px
    half = side / 2 / CLOSE_ZOOM - EDGE_MARGIN_UM  # µm
    low, high = viewer.layers[IMAGE_LAYER].extent.world[:, -2:]
    yx = np.clip(np.asarray(centre)[1:], low + half, np.maximum(high - half, low + half))
    centre_on(viewer, t, (0.0, *yx))
    shots.settle(40)
    shot = viewer.screenshot(canvas_only=True, flash=False)
    top, left = (shot.shape[0] - side) // 2, (shot.shape[1] - side) // 2
    square = shot[top : top + side, left : left + side, :3]
    shots.save_image(Image.fromarray(np.ascontiguousarray(square)), path)


def truth_mistakes(viewer: Any, graph: Any, seen: Any, added: set[int], out: Path) -> None:
    """Three places at t = MISTAKES_T: an edge where the silver truth leaves out the
    nuclei, two touching nuclei it merges, and barely visible nuclei it holds."""
    canvas_at(viewer, MISTAKES_T, edge_spot(graph, seen, added), out / "tutorial_real_07_edge.png")
    merged = seen.nucleus(MERGED)
    here = graph.within(MISTAKES_T, merged.center, 2 * user.lateral_radius(merged))
    print(f"silver truth #{MERGED} (t {merged.t}, {user.lateral_radius(merged):.1f} µm "
          f"radius): the result has {len(here)} nuclei there")  # fmt: skip
    canvas_at(viewer, MISTAKES_T, merged.center, out / "tutorial_real_08_merged.png")
    dim = [seen.nucleus(i) for i in DIM]
    missed = [n.id for n in dim if not len(graph.within(n.t, n.center, user.DMAX_UM))]
    print(f"barely visible silver-truth nuclei {DIM} (t {dim[0].t}): {len(missed)} missed")
    middle = np.mean([n.center for n in dim], axis=0)
    canvas_at(viewer, MISTAKES_T, middle, out / "tutorial_real_09_dim.png")


def edge_spot(graph: Any, seen: Any, added: set[int]) -> np.ndarray:
    """The view centre (µm) near the edge nucleus with the most others around it, among
    those at MISTAKES_T that the model found and the silver truth lacks."""
    edge = [seen.nucleus(i) for i in added if seen.nucleus(i).t == MISTAKES_T]
    found = [n for n in edge if len(graph.within(n.t, n.center, user.DMAX_UM))]
    print(f"t = {MISTAKES_T}: {len(edge)} nuclei cut by the edge and left out of the silver "
          f"truth; the result has {len(found)} of them")  # fmt: skip
    centres = np.array([n.center for n in found or edge])
    crowd = (np.linalg.norm(centres[:, None] - centres[None], axis=2) < EDGE_VIEW_UM).sum(1)
    best = centres[int(np.argmax(crowd))]
    middle = np.array([0.0, *np.mean([n.center[1:] for n in seen.nuclei()], axis=0)])
    inward = (middle - best) / max(float(np.linalg.norm(middle - best)), 1e-9)
    return best + inward * EDGE_VIEW_UM / 2


# --------------------------------------------------------------- the driver
def loop(viewer: Any, dock: Any, movie: user.RealMovie, out: Path) -> tuple[Any, Any]:
    """Open, create, set one thread: the (workspace, proofreading tools) of a movie."""
    from napari_elephant._napari.session import session_for

    ws = create_workspace(viewer, dock, movie, open_movie(viewer, movie), out)
    one_thread_and_a_seed(dock)
    return ws, session_for(viewer).start_proofreading().tools


def train_predict_link(dock: Any) -> None:
    """Train, Predict (all), Link: one round of the loop with the defaults."""
    train(dock)
    predict(dock)
    link_defaults(dock)


def hela(viewer: Any, docks: tuple[Any, Any], out: Path) -> None:
    """The chapter's HeLa steps, pictures and scores."""
    from napari_elephant._napari.viewer_dims import set_t
    from napari_elephant.core.io.csv_io import load_csv

    dock = docks[0]
    ws, tools = loop(viewer, dock, user.HELA, out)
    truth, look = load_csv(user.DATA / user.HELA.truth), (user.frames(user.HELA), user.HELA.voxel)
    annotate(viewer, dock, tools, look, truth, out)
    train_predict_link(dock)
    set_t(viewer, MISTAKES_T)
    shots.settle(40)
    grab_window(viewer, out / "tutorial_real_05_predicted.png")
    seen, added = user.eye(truth, *look)
    proofread(viewer, docks, tools, (seen, look), out)
    link_defaults(dock)  # again: the nuclei added with A get their links
    dock.workspace_panel.save_button.click()
    export_and_evaluate(ws.path, user.HELA)
    explain_misses(ws.graph, truth, seen, look)
    viewer.layers["hela tracks"].visible = False
    open_truth(viewer, truth)
    truth_mistakes(viewer, ws.graph, seen, added, out)


def cho(viewer: Any, docks: tuple[Any, Any], out: Path) -> None:
    """The CHO thin stack: five clicks, one round, predict, link, the window, the score."""
    from napari_elephant.core.io.csv_io import load_csv

    dock, lineage = docks
    viewer.layers.clear()
    ws, tools = loop(viewer, dock, user.CHO, out)
    truth, movie = load_csv(user.DATA / user.CHO.truth), user.frames(user.CHO)
    for nucleus in user.clicks(truth, movie, user.CHO.voxel, user.CHO.clicks):
        user.add_like_a_user(viewer, tools, nucleus, user.CHO.voxel[0])
    train_predict_link(dock)
    tools.session.reset_view()
    shots.settle(40)
    lineage.fit()
    shots.settle(40)
    grab_window(viewer, out / "tutorial_real_10_cho.png")
    dock.workspace_panel.save_button.click()
    export_and_evaluate(ws.path, user.CHO, export=False)


def shoot(out: Path) -> None:
    """One napari window for both movies, in a temporary folder (the workspaces)."""
    import napari

    from napari_elephant._qt.launch import dock_for, lineage_dock_for

    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # the Create box then shows a short path: hela.elephant
        viewer = napari.Viewer(title="napari", show=True)
        viewer.window._qt_window.resize(*WINDOW)
        dock, lineage = dock_for(viewer), lineage_dock_for(viewer)
        shots.settle()
        hela(viewer, (dock, lineage), out)
        cho(viewer, (dock, lineage), out)
        viewer.close()


def main(argv: list[str] | None = None) -> int:
    return run_shoot(__doc__, shoot, argv)


if __name__ == "__main__":
    raise SystemExit(main())
