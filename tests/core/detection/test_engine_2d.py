"""A 2D+t movie end to end: first round from the pretrained model, prediction, links."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_elephant.core.detection import engine
from napari_elephant.core.detection.merge import merge_predictions
from napari_elephant.core.io.image import write_ome_zarr
from napari_elephant.core.linking.apply import link_round
from napari_elephant.core.metrics import detection_scores
from napari_elephant.core.params import TrainingParams
from napari_elephant.core.synthetic_micro import MicroscopyStyle, generate_micro
from napari_elephant.core.training.progress import drain
from napari_elephant.core.workspace import Workspace

CPU = torch.device("cpu")
STYLE = MicroscopyStyle(
    ndim=2, shape=(1, 96, 96), voxel_size=(1.0, 0.8, 0.8), n_nuclei=10, radius=5.0,
    mitosis_fraction=0.0, mitosis_rate=0.0, debris=0, photons=400.0,
)  # fmt: skip


@pytest.fixture(scope="module")
def movie():
    return generate_micro(STYLE, seed=11, n_timepoints=3)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, movie) -> Workspace:
    tmp = tmp_path_factory.mktemp("two_d")
    path = write_ome_zarr(tmp / "m.ome.zarr", movie.image, movie.voxel_size)
    ws = Workspace.create(tmp / "w.elephant", path)
    ws.graph.add_nuclei(movie.graph.nuclei_at(0)[:4])
    drain(engine.train_round(ws, CPU, TrainingParams(steps=40, seed=0)))
    return ws


def test_a_2d_movie_trains_on_its_single_slice(trained):
    setup = engine.detection_setup(trained)
    assert setup.grid.flat and setup.grid.shape[0] == 1
    assert engine.crop_shape(trained.params.training, setup.grid)[0] == 1


def test_2d_predictions_are_flat_ellipses_where_the_nuclei_are(trained, movie):
    d_sup = engine.prediction_params(trained).d_sup
    for record in engine.predict_round(trained, CPU, [1, 2]):
        merge_predictions(trained.graph, record.extra["t"], record.extra["ellipsoids"], d_sup)
    found = trained.graph.nuclei_at(1)
    assert found and all(n.center[0] == 0.0 for n in found)
    for n in found:
        cov = n.cov_matrix
        assert cov[0, 1] == cov[0, 2] == 0.0
        assert cov[0, 0] == pytest.approx(np.sqrt(np.linalg.det(cov[1:, 1:])))
        assert n.confidence is not None and 0.0 <= n.confidence <= 1.0
    scores = detection_scores(trained.graph, movie.graph, dmax=3.0, timepoints=[1, 2])
    assert scores.f1 >= 0.8, scores


def test_2d_nuclei_link_across_time(trained):
    drain(link_round(trained.graph, trained.params.linking, timepoints=[1, 2]))
    assert trained.graph.n_links >= 0.6 * len(trained.graph.nuclei_at(2))
