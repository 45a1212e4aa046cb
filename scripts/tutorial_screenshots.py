"""Screenshots of the tutorial (docs/tutorial.md), taken under Xvfb.

    xvfb-run -a .venv/bin/python scripts/tutorial_screenshots.py [docs/images]

Drives the real viewer and the ELEPHANT dock through the tutorial's steps,
in a fresh temporary folder: File ▸ Open Sample (the sample movie), a new
workspace from its image layer (the dock's Create), a handful of nuclei added
at the cursor as the A key does, a 30-step training round, a prediction of
every timepoint, a proofreading pass over the first timepoints (N, then 4 or
5, judged against the sample's ground truth as a careful user would), a
second round, linking, the lineage view, Save, and napari's File ▸ Save
Selected Layers (the plugin's writer).  It then runs the ``export`` and
``evaluate`` commands on the saved workspace and prints their output (the
tutorial quotes it).  Training is seeded and runs on one CPU thread.

The pictures go to ``tutorial_*.png`` (about 1200 px wide; see
scripts/screenshots.py, whose helpers this reuses, for the size limit).
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from napari_elephant._napari.viewer_dims import camera
from napari_elephant.core.demo import scores_line

sys.path.insert(0, str(Path(__file__).resolve().parent))
import screenshots as shots  # scripts/ is not a package: found through sys.path
from tutorial_user import accept_links, proofread

WINDOW = (1200, 780)  # px
STEPS = 30  # per training round
SEED = 0  # training seed
N_CLICKED = 6  # nuclei added by hand at t = 0
PROOFREAD_UNTIL = 3  # timepoints 0 .. PROOFREAD_UNTIL - 1 are checked with N / 4 / 5
PICTURE_AFTER = 12  # nuclei checked before the proofreading picture
CENTRAL_UM = 20.0  # ... which shows a nucleus this near the middle of the field
ZOOM = 1.5  # the user zooms in to proofread
FLOW_EPOCHS = 4  # a short flow round (20 is the default)
JOB_TIMEOUT_S = 900.0
LINEAGE_T = 12  # the timepoint of the lineage picture
SAMPLE = ("napari-elephant", "sample_movie")
TRUTH_LAYER = "ground truth nuclei"


# ---------------------------------------------------------------- helpers
def wait_for_jobs(runner: Any, timeout: float = JOB_TIMEOUT_S) -> None:
    """Keep Qt running until the job runner is idle (its queue included)."""
    from qtpy.QtWidgets import QApplication

    end = time.monotonic() + timeout
    while runner.busy or runner.queue:
        if time.monotonic() > end:
            raise TimeoutError("a job ran too long")
        QApplication.processEvents()
        time.sleep(0.05)
    shots.settle()


def last_line(runner: Any) -> str:
    record = runner.records[-1]
    print(record.line())
    if record.status != "done":
        raise RuntimeError(f"{record.name} did not finish: {record.summary}")
    return record.line()


def show_tab(dock: Any, name: str) -> None:
    dock.tabs.setCurrentWidget(dock.tabs.widget(_tab_index(dock, name)))
    shots.settle()


def _tab_index(dock: Any, name: str) -> int:
    return next(i for i in range(dock.tabs.count()) if dock.tabs.tabText(i) == name)


def grab_window(viewer: Any, path: Path) -> None:
    shots.save(viewer.window._qt_window.grab(), path)


def grab_dock(dock: Any, path: Path) -> None:
    shots.save(shots.dock_widget(dock).grab(), path)


def type_text(edit: Any, text: str) -> None:
    """A line edit typed into and left (what a form reacts to)."""
    edit.setText(text)
    edit.editingFinished.emit()


# ------------------------------------------------------ 1. sample, workspace
def open_sample() -> tuple[Any, Any, Any]:
    """napari, File ▸ Open Sample ▸ ELEPHANT sample movie, Plugins ▸ ELEPHANT (both docks)."""
    import napari

    from napari_elephant._qt.launch import dock_for, lineage_dock_for

    viewer = napari.Viewer(title="napari", show=True)
    viewer.window._qt_window.resize(*WINDOW)
    viewer.open_sample(*SAMPLE)
    dock, lineage = dock_for(viewer), lineage_dock_for(viewer)
    shots.settle()
    return viewer, dock, lineage


def create_workspace(viewer: Any, dock: Any, path: Path, out: Path) -> None:
    """Hide the ground truth, fill in the Create box, picture it, click Create."""
    for name in (TRUTH_LAYER, "ground truth tracks"):
        if name in viewer.layers:
            viewer.layers[name].visible = False
    panel = dock.workspace_panel
    viewer.layers.selection.active = viewer.layers["ELEPHANT sample movie"]
    panel.update_layer_choices()
    panel.create_path.setText(path.name)
    show_tab(dock, "Workspace")
    viewer.reset_view()
    shots.settle()
    grab_window(viewer, out / "tutorial_01_new_workspace.png")
    panel.create_button.click()
    shots.settle()


# ----------------------------------------------------------- 2. annotate
def clicked_nuclei(truth: Any, viewer: Any) -> list[Any]:
    """The nuclei a user would click first: at t = 0, nearest the middle plane."""
    z_mid = viewer.dims.point[1]
    first = sorted(truth.nuclei_at(0), key=lambda n: abs(n.center[0] - z_mid))
    return first[:N_CLICKED]


def add_like_a_user(viewer: Any, tools: Any, nucleus: Any) -> None:
    """Step z to the nucleus' brightest plane, point at it, A, then E until it fits."""
    from napari_elephant._napari.editing import STEP

    plane = round(nucleus.center[0] / 2.0) * 2.0  # 2 µm z voxels
    viewer.dims.set_point(1, plane)
    viewer.cursor.position = (0.0, plane, *nucleus.center[1:])
    nid = tools.editor.add_at_cursor()  # at the typical size of the nuclei so far
    radius = float(np.prod(np.linalg.eigvalsh(nucleus.cov_matrix)) ** (1 / 6))
    default = tools.session.graph.nucleus(nid).radius
    for _ in range(max(0, round(math.log(radius / default) / math.log(STEP)))):
        tools.editor.scale(STEP)  # E


def annotate(viewer: Any, tools: Any, truth: Any, out: Path) -> None:
    for nucleus in clicked_nuclei(truth, viewer):
        add_like_a_user(viewer, tools, nucleus)
    tools.session.reset_view()
    shots.settle(40)
    grab_window(viewer, out / "tutorial_02_annotated.png")


# ---------------------------------------------------------- 3. train, predict
def set_training(dock: Any) -> None:
    """Steps and seed on the Detection tab, one CPU thread on the Models tab."""
    det = dock.detection_panel
    det.training_form.widget("steps").setValue(STEPS)
    type_text(det.more_training_form.widget("seed"), str(SEED))
    dock.models_panel.device_form.widget("cpu_threads").setValue(1)
    det.start.setCurrentIndex(det.start.findData("current"))


def train(dock: Any) -> str:
    det = dock.detection_panel
    det.train_button.click()
    wait_for_jobs(dock.jobs.runner)
    return last_line(dock.jobs.runner)


def predict(dock: Any, timepoints: str = "") -> str:
    """Predict every timepoint, or a range ("3:24") when given."""
    det = dock.detection_panel
    det.predict_scope.setCurrentText("range" if timepoints else "all")
    det.predict_timepoints.setText(timepoints)
    det.predict_button.click()
    wait_for_jobs(dock.jobs.runner)
    return last_line(dock.jobs.runner)


# ---------------------------------------------------------------- 4. proofread
def proofread_with_picture(viewer: Any, tools: Any, truth: Any, out: Path) -> int:
    """A pass over the first timepoints, zoomed in a little, pictured once a dozen
    nuclei are checked and the next one (selected by N) lies mid-field."""
    from napari_elephant._napari.viewer_dims import set_t

    set_t(viewer, 0)
    camera(viewer).zoom *= ZOOM
    middle = np.array(viewer.layers["ELEPHANT sample movie"].extent.world[1][-2:]) / 2
    taken: list[bool] = []

    def picture(nucleus: Any, checked: int) -> None:
        central = np.linalg.norm(np.subtract(nucleus.center[1:], middle)) < CENTRAL_UM
        if not taken and checked >= PICTURE_AFTER and central:
            shots.settle(40)
            grab_window(viewer, out / "tutorial_05_proofreading.png")
            taken.append(True)

    checked = proofread(tools, truth, PROOFREAD_UNTIL, picture)
    print(f"proofread {checked} nuclei at t < {PROOFREAD_UNTIL}")
    tools.session.selection.clear()
    return checked


# ------------------------------------------------------------ 5. linking
SEARCH_UM = 7.0  # the sample's daughters land up to ~7 µm from their mother


def link(dock: Any, method: str) -> str:
    show_tab(dock, "Linking")
    form = dock.linking_panel.linking_form
    form.widget("method").setCurrentText(method)
    form.widget("d_search").setText(str(SEARCH_UM))
    form.widget("d_search").editingFinished.emit()
    dock.linking_panel.link_button.click()
    wait_for_jobs(dock.jobs.runner)
    return last_line(dock.jobs.runner)


def train_flow(dock: Any) -> str:
    panel = dock.linking_panel
    panel.flow_form.widget("epochs").setValue(FLOW_EPOCHS)
    type_text(panel.flow_form.widget("seed"), str(SEED))
    panel.train_flow_button.click()
    wait_for_jobs(dock.jobs.runner)
    return last_line(dock.jobs.runner)


def picture_lineage(viewer: Any, dock: Any, lineage: Any, tools: Any, out: Path) -> None:
    """The window at LINEAGE_T, a lineage with a division selected; the ELEPHANT dock
    hidden so that the Lineage dock gets the column ("Selected lineage only")."""
    from napari_elephant._napari.viewer_dims import set_t

    graph = tools.session.graph
    set_t(viewer, LINEAGE_T)
    here = graph.nuclei_at(LINEAGE_T)
    middle = np.mean([n.center for n in here], axis=0)
    dividing = [n for n in here if shots._divides(graph, n.id)] or here
    pick = min(dividing, key=lambda n: float(np.linalg.norm(np.subtract(n.center, middle))))
    tools.navigator.jump(pick.id)
    viewer.layers.selection.active = tools.session.layers["nuclei"]
    upper = shots.dock_widget(dock)
    upper.hide()
    lineage.lineage_only.setChecked(True)
    shots.settle(40)
    lineage.fit()
    shots.settle(40)
    grab_window(viewer, out / "tutorial_07_lineage.png")
    lineage.lineage_only.setChecked(False)
    upper.show()
    shots.settle()


# ------------------------------------------------------------- 6. save, export
def save_layers(viewer: Any, tools: Any, root: Path) -> None:
    """File ▸ Save Selected Layers… with the nuclei layer, then the ground truth's."""
    nuclei = tools.session.layers["nuclei"]
    for layer, name in (
        (nuclei, "lineage_from_napari.geff"),
        (viewer.layers[TRUTH_LAYER], "truth.geff"),
    ):
        viewer.layers.selection = {layer}
        written = viewer.layers.save(str(root / name), selected=True, plugin="napari-elephant")
        print(f"File > Save Selected Layers: {layer.name} -> {written}")


def run_cli(*args: str) -> str:
    exe = Path(sys.executable).with_name("napari-elephant")
    done = subprocess.run([str(exe), *args], capture_output=True, text=True, check=False)
    print(f"$ napari-elephant {' '.join(args)}\n{done.stdout}{done.stderr}")
    if done.returncode != 0:
        raise RuntimeError(f"napari-elephant {args[0]} failed")
    return done.stdout


def export_and_evaluate(ws: Path, root: Path) -> None:
    run_cli("export", str(ws), str(root / "lineage.geff"))
    run_cli("export", str(ws), str(root / "lineage.csv"))
    run_cli("export", str(ws), str(root / "lineage_ctc"), "--format", "ctc")
    run_cli("export", str(ws), str(root / "lineage.xml"), "--format", "trackmate")
    run_cli("evaluate", str(ws), str(root / "truth.geff"))
    run_cli("evaluate", str(ws), str(root / "truth.geff"), "--timepoints", f"0:{PROOFREAD_UNTIL}")
    run_cli("evaluate", str(root / "lineage_from_napari.geff"), str(root / "truth.geff"))


# ------------------------------------------------------------------- driver
def detection_loop(viewer: Any, dock: Any, tools: Any, truth: Any, out: Path) -> None:
    """Train, predict, proofread, train again, predict again (pictures on the way)."""
    set_training(dock)
    show_tab(dock, "Detection")
    train(dock)
    grab_dock(dock, out / "tutorial_03_train.png")
    predict(dock)
    tools.session.reset_view()
    shots.settle(40)
    grab_window(viewer, out / "tutorial_04_predicted.png")
    proofread_with_picture(viewer, tools, truth, out)
    train(dock)
    predict(dock, f"{PROOFREAD_UNTIL}:")  # the timepoints not proofread yet


def linking_loop(dock: Any, tools: Any, truth: Any, out: Path) -> None:
    """Link (nn), accept the right links of the checked timepoints, train the flow
    model, link again with it; the scores of both against the truth are printed."""
    link(dock, "nn")
    grab_dock(dock, out / "tutorial_06_linking.png")
    with_nn = evaluate_now(tools, truth)
    print("after nn linking:", scores_line(with_nn))
    accept_links(tools, truth, PROOFREAD_UNTIL)
    train_flow(dock)
    link(dock, "flow")
    with_flow = evaluate_now(tools, truth)
    print("after flow linking:", scores_line(with_flow))
    if with_flow.tra < with_nn.tra:  # worse here: Ctrl+Z takes the whole run back
        tools.editor.undo()
        print("flow linking undone:", scores_line(evaluate_now(tools, truth)))
    shots.settle()


def evaluate_now(tools: Any, truth: Any) -> Any:
    from napari_elephant.core.metrics import evaluate

    return evaluate(tools.session.graph, truth)


def shoot(out: Path) -> None:
    from napari_elephant._napari.sample_data import SAMPLE_PRESET, SAMPLE_SEED
    from napari_elephant._napari.session import session_for
    from napari_elephant.core.synthetic import generate

    truth = generate(SAMPLE_PRESET, seed=SAMPLE_SEED).graph
    with tempfile.TemporaryDirectory() as tmp:
        root, ws = Path(tmp), Path(tmp) / "embryo.elephant"
        os.chdir(root)  # the Create box then shows a short path: embryo.elephant
        viewer, dock, lineage = open_sample()
        create_workspace(viewer, dock, ws, out)
        tools = session_for(viewer).start_proofreading().tools
        annotate(viewer, tools, truth, out)
        detection_loop(viewer, dock, tools, truth, out)
        linking_loop(dock, tools, truth, out)
        picture_lineage(viewer, dock, lineage, tools, out)
        show_tab(dock, "Log")
        grab_dock(dock, out / "tutorial_08_log.png")
        dock.workspace_panel.save_button.click()
        save_layers(viewer, tools, root)
        viewer.close()
        export_and_evaluate(ws, root)


def run_shoot(doc: str, shoot_into: Callable[[Path], None], argv: list[str] | None) -> int:
    """A screenshot script's command line: the output folder, a display check, one
    torch thread, ``shoot_into(folder)``, the working folder restored, the run time."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", default=Path("docs/images"))
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY"):
        print("no display: run it under xvfb-run -a", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    start, began = Path.cwd(), time.perf_counter()
    try:
        shoot_into(args.out.resolve())
    finally:
        os.chdir(start)
    print(f"run time {time.perf_counter() - began:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_shoot(__doc__, shoot, argv)


if __name__ == "__main__":
    raise SystemExit(main())
