"""The sample movie: image, ground-truth nuclei and tracks in one µm world."""

from __future__ import annotations

import numpy as np

from napari_elephant._napari import sample_data
from napari_elephant._napari.layers import GRAPH_KEY
from napari_elephant.core.synthetic import generate


def test_sample_gives_image_nuclei_tracks_at_the_movie_voxel_size() -> None:
    layers = sample_data.sample_layers("tiny", seed=0)
    assert [kind for *_, kind in layers] == ["image", "points", "tracks"]
    image, kw, _ = layers[0]
    assert image.ndim == 4
    assert kw["scale"] == (1.0, 2.0, 0.5, 0.5)
    for _, layer_kw, _ in layers[1:]:  # one world: z steps by one image plane
        assert layer_kw["scale"] == kw["scale"]
    graph = layers[1][1]["metadata"][GRAPH_KEY]
    assert layers[2][1]["metadata"][GRAPH_KEY] is graph
    points, points_kw, _ = layers[1]
    assert len(points) == len(graph)
    voxel = generate("tiny", seed=0).voxel_size
    for row, nid in zip(points, points_kw["features"]["id"], strict=True):
        n = graph.nucleus(int(nid))
        np.testing.assert_allclose(row, (n.t, *voxel.to_voxels(n.center)))
    radii = [graph.nucleus(int(i)).radius for i in points_kw["features"]["id"]]
    np.testing.assert_allclose(points_kw["size"], 2 * np.array(radii) / voxel.x)  # x voxels
    # every centre lies inside the movie, in voxels
    assert np.all(points[:, 1:] >= 0) and np.all(points[:, 1:] <= np.array(image.shape[1:]) - 1)


def test_npe2_command_uses_the_default_preset(monkeypatch) -> None:
    seen = []
    monkeypatch.setattr(sample_data, "sample_layers", lambda p, s: seen.append((p, s)) or [])
    sample_data.make_sample_data()
    assert seen == [("default", 0)]
