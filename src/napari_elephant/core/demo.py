"""The demo workspace: the sample movie with a first handful of annotations."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from napari_elephant.core.graph import Nucleus
from napari_elephant.core.sample import write_sample
from napari_elephant.core.synthetic import SyntheticMovie
from napari_elephant.core.workspace import Workspace, is_workspace

N_SEED_ANNOTATIONS = 5


def default_demo_dir() -> Path:
    """A per-user data folder (not a cache: the user's demo annotations live here)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "napari-elephant" / "demo"


def demo_workspace(
    path: str | os.PathLike | None = None, preset: str = "default", fresh: bool = False
) -> Workspace:
    """Open the demo workspace, creating it (movie + truth + workspace) when absent.

    A new demo starts as a user would: a few nuclei of the first timepoint
    annotated by hand (taken from the ground truth), the rest to predict.
    """
    root = Path(path) if path is not None else default_demo_dir() / "demo.elephant"
    if is_workspace(root) and not fresh:
        return Workspace.open(root)
    if root.exists():
        shutil.rmtree(root)
    files = write_sample(root.parent / "sample", preset=preset, seed=0)
    ws = Workspace.create(root, files.movie, overwrite=True)
    ws.graph.add_nuclei(_seed_nuclei(files.data), name="seed annotations")
    ws.graph.history.clear()
    ws.save_graph()
    return ws


def _seed_nuclei(movie: SyntheticMovie) -> list[Nucleus]:
    """The first timepoint's nuclei nearest the middle plane: visible on opening."""
    truth = movie.graph
    middle_um = (movie.image.shape[1] - 1) / 2 * movie.voxel_size.z
    first = truth.nuclei_at(truth.timepoints()[0])
    first.sort(key=lambda n: abs(n.center[0] - middle_um))
    return first[:N_SEED_ANNOTATIONS]
