"""The demo: the sample movie with a first handful of annotations, and the loop run on it.

``napari-elephant demo`` opens this workspace in napari; without a display
(or with ``--headless``) it runs one pass of the loop instead — train on the
seed annotations, predict every timepoint, link — and scores the result
against the sample's ground truth, so the README's main command shows the
method working on any machine.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import torch

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Nucleus, Status, TrackingGraph
from napari_elephant.core.io.geff_io import read_geff
from napari_elephant.core.loop import LoopSettings, PassOutcome, run_pass
from napari_elephant.core.metrics import Evaluation, evaluate
from napari_elephant.core.sample import write_sample
from napari_elephant.core.synthetic import SyntheticMovie
from napari_elephant.core.synthetic_presets import resolve_preset
from napari_elephant.core.training.progress import Progress, StopFlag
from napari_elephant.core.workspace import Workspace, is_workspace

N_SEED_ANNOTATIONS = 5
DEFAULT_PRESET = "default"
SAMPLE_INFO = "demo.json"  # which preset and seed the sample folder holds


def default_demo_dir() -> Path:
    """A per-user data folder (not a cache: the user's demo annotations live here)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "napari-elephant" / "demo"


def sample_dir(workspace_path: str | os.PathLike) -> Path:
    """Where the demo workspace's movie and ground truth live (next to it)."""
    return Path(workspace_path).parent / "sample"


def demo_workspace(
    path: str | os.PathLike | None = None, preset: str | None = None, fresh: bool = False
) -> Workspace:
    """Open the demo workspace, creating it (movie + truth + workspace) when absent.

    A new demo starts as a user would: a few nuclei of the first timepoint
    annotated by hand (taken from the ground truth), the rest to predict.
    ``preset`` (default "default") picks the sample; asking an existing demo
    for another preset is an error unless ``fresh`` recreates it.
    """
    root = Path(path) if path is not None else default_demo_dir() / "demo.elephant"
    if is_workspace(root) and not fresh:
        _check_preset(root, preset)
        return Workspace.open(root)
    name = preset or DEFAULT_PRESET
    resolve_preset(name)  # a typo fails before anything is deleted
    if root.exists():
        shutil.rmtree(root)
    files = write_sample(sample_dir(root), preset=name, seed=0)
    info = {"preset": name, "seed": 0}
    (sample_dir(root) / SAMPLE_INFO).write_text(json.dumps(info) + "\n")
    ws = Workspace.create(root, files.movie, overwrite=True)
    ws.graph.add_nuclei(_seed_nuclei(files.data), name="seed annotations")
    ws.graph.history.clear()
    ws.save_graph()
    return ws


def _check_preset(root: Path, preset: str | None) -> None:
    info = sample_dir(root) / SAMPLE_INFO
    if preset is None or not info.exists():
        return
    held = json.loads(info.read_text()).get("preset")
    if held != preset:
        raise InvalidInputError(
            f"the demo workspace {root} holds the {held!r} sample; pass --fresh to "
            f"recreate it with {preset!r} (its annotations are lost) or another --workspace"
        )


def _seed_nuclei(movie: SyntheticMovie) -> list[Nucleus]:
    """The first timepoint's nuclei nearest the middle plane: visible on opening."""
    truth = movie.graph
    middle_um = (movie.image.shape[1] - 1) / 2 * movie.voxel_size.z
    first = truth.nuclei_at(truth.timepoints()[0])
    first.sort(key=lambda n: abs(n.center[0] - middle_um))
    return first[:N_SEED_ANNOTATIONS]


def demo_truth(ws: Workspace) -> TrackingGraph:
    """The ground truth of the demo workspace's sample movie."""
    path = sample_dir(ws.path) / "truth.geff"
    if not path.exists():
        raise InvalidInputError(
            f"no ground truth for the demo at {path}: recreate the demo with --fresh"
        )
    return read_geff(path)


@dataclass(frozen=True)
class DemoResult:
    """One headless pass of the loop and its scores against the ground truth."""

    outcome: PassOutcome
    evaluation: Evaluation
    annotations: int


def run_demo(
    ws: Workspace,
    device: torch.device,
    settings: LoopSettings | None = None,
    stop: StopFlag | None = None,
) -> Generator[Progress, None, DemoResult]:
    """Train on the workspace's annotations, predict, link, and score against the truth.

    The graph is saved afterwards, so opening the demo in napari shows the result.
    """
    truth = demo_truth(ws)
    annotations = sum(1 for n in ws.graph.nuclei() if n.status != Status.PREDICTED)
    outcome = yield from run_pass(ws, device, settings, stop)
    ws.save_graph()
    return DemoResult(outcome, evaluate(ws.graph, truth), annotations)


def scores_line(ev: Evaluation) -> str:
    """The one line the demo prints: the loop's scores against the ground truth."""
    return (
        f"scores: detection F1 {ev.detection.f1:.3f}, link F1 {ev.links.f1:.3f}, "
        f"division F1 {ev.divisions.f1:.3f}, DET {ev.det:.3f}, TRA {ev.tra:.3f}"
    )
