"""Prediction fanned out over a dask.distributed cluster.

Each task predicts a block of timepoints on a worker: it reopens the movie
and the saved network itself (open files and models do not travel between
processes), and sends back only the ellipsoids.  Merging stays with the
caller, in timepoint order of completion, exactly as for in-process
prediction.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from pathlib import Path

import torch

from napari_elephant.core.detection.engine import (
    detection_dir,
    detection_setup,
    normalized_timepoint,
    predict_volume,
)
from napari_elephant.core.detection.model import pooling_schedule
from napari_elephant.core.detection.postprocess import Ellipsoid
from napari_elephant.core.detection.scale import NetworkGrid
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.io.image import open_image
from napari_elephant.core.params import DetectionParams
from napari_elephant.core.training.checkpoint import build_model_from_checkpoint, has_checkpoint
from napari_elephant.core.training.device import configure_precision
from napari_elephant.core.training.progress import Progress
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import Workspace

TIMEPOINTS_PER_TASK = 2


def predict_block(
    image: str,
    dataset: str | None,
    axes: str | None,
    voxel_size: tuple[float, float, float],
    checkpoint: str,
    params: dict,
    grid: NetworkGrid,
    timepoints: Sequence[int],
    device: str = "cpu",
    threads: int = 1,
    precision: str = "auto",
) -> list[tuple[int, list[Ellipsoid]]]:
    """Worker task: detect nuclei in some timepoints, from files only (the grid and
    the resolved settings come from the caller, so every worker sees the same)."""
    torch.set_num_threads(threads)
    configure_precision(precision)
    vs = VoxelSize(*voxel_size)
    source = open_image(image, dataset, vs, axes)
    model = build_model_from_checkpoint(checkpoint, device)
    model.with_pooling(pooling_schedule(grid.voxel_size, model.config.depth, grid.shape[0]))
    det = DetectionParams.model_validate(params)
    out = []
    for t in timepoints:
        volume = normalized_timepoint(source, t, model.config.normalization)
        out.append((t, predict_volume(model, volume, grid, det, torch.device(device))))
    source.close()
    return out


def _client(scheduler: str):
    """A client for the address, or a LocalCluster of one process per core."""
    from dask.distributed import Client, LocalCluster

    if scheduler == "local":
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout="10s"), None
    except OSError as exc:
        raise InvalidInputError(f"cannot reach the dask scheduler {scheduler}: {exc}") from None


def predict_distributed(
    ws: Workspace,
    timepoints: Sequence[int],
    scheduler: str,
    device: str = "cpu",
    per_task: int = TIMEPOINTS_PER_TASK,
) -> Generator[Progress, None, int]:
    """Like :func:`engine.predict_round`, with the timepoints spread over workers."""
    from dask.distributed import as_completed

    folder = detection_dir(ws)
    if not has_checkpoint(folder):
        raise InvalidInputError("no trained detection model yet: train one first")
    setup = detection_setup(ws)
    args = (
        str(ws.image_path()),
        ws.image.dataset,
        ws.image.axes,
        ws.voxel_size.as_tuple(),
        str(Path(folder).resolve()),
        setup.params.model_dump(),
        setup.grid,
    )
    precision = ws.params.device.precision
    blocks = [list(timepoints[i : i + per_task]) for i in range(0, len(timepoints), per_task)]
    client, cluster = _client(scheduler)
    start, done = time.perf_counter(), 0
    try:
        futures = [
            client.submit(predict_block, *args, b, device, precision=precision, pure=False)
            for b in blocks
        ]
        for future in as_completed(futures):
            for t, found in future.result():
                done += 1
                yield Progress(
                    "prediction",
                    done,
                    len(timepoints),
                    elapsed=time.perf_counter() - start,
                    message=f"t={t}: {len(found)} nuclei",
                    extra={"t": t, "ellipsoids": tuple(found)},
                )
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return done
