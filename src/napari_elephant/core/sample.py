"""Write a synthetic movie and its ground truth to disk (the sample data)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from napari_elephant.core.io.csv_io import write_csv
from napari_elephant.core.io.geff_write import write_geff
from napari_elephant.core.io.image import write_ome_zarr
from napari_elephant.core.synthetic import SyntheticMovie, generate


@dataclass(frozen=True)
class SampleFiles:
    """Paths of a written sample: the movie and its ground truth twice."""

    movie: Path
    truth_geff: Path
    truth_csv: Path
    data: SyntheticMovie


def write_sample(
    out_dir: str | os.PathLike, preset: str = "default", seed: int = 0
) -> SampleFiles:
    """Generate a seeded movie and write ``movie.ome.zarr``, ``truth.geff``, ``truth.csv``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    movie = generate(preset, seed=seed)
    files = SampleFiles(out / "movie.ome.zarr", out / "truth.geff", out / "truth.csv", movie)
    write_ome_zarr(files.movie, movie.image, movie.voxel_size, overwrite=True)
    write_geff(movie.graph, files.truth_geff, overwrite=True)
    write_csv(movie.graph, files.truth_csv)
    return files
