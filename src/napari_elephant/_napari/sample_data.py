"""The sample movie: a seeded synthetic movie with its exact ground truth."""

from __future__ import annotations

from typing import Any

from napari_elephant._napari.layers import graph_layer_data, image_layer_data
from napari_elephant.core.synthetic import generate

SAMPLE_PRESET = "default"
SAMPLE_SEED = 0

LayerData = tuple[Any, dict[str, Any], str]


def sample_layers(preset: str = SAMPLE_PRESET, seed: int = SAMPLE_SEED) -> list[LayerData]:
    """Movie, ground-truth nuclei and ground-truth tracks in one µm world: the
    nuclei and tracks hold voxel coordinates at the movie's voxel size, so the
    dims slider steps by one image plane (not by 1 µm)."""
    movie = generate(preset, seed=seed)
    meta = {"synthetic_preset": preset, "synthetic_seed": seed}
    image = image_layer_data(movie.image, movie.voxel_size, "ELEPHANT sample movie", meta)
    return [image, *graph_layer_data(movie.graph, "ground truth", meta, movie.voxel_size)]


def make_sample_data() -> list[LayerData]:
    """The npe2 sample-data command ("ELEPHANT sample movie")."""
    return sample_layers(SAMPLE_PRESET, SAMPLE_SEED)
