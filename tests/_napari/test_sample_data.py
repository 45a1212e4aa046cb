"""The sample movie: image, ground-truth nuclei and tracks, all in µm."""

from __future__ import annotations

import numpy as np

from napari_elephant._napari import sample_data
from napari_elephant._napari.layers import GRAPH_KEY


def test_sample_gives_image_nuclei_tracks_in_um() -> None:
    layers = sample_data.sample_layers("tiny", seed=0)
    assert [kind for *_, kind in layers] == ["image", "points", "tracks"]
    image, kw, _ = layers[0]
    assert image.ndim == 4
    assert kw["scale"] == (1.0, 2.0, 0.5, 0.5)
    graph = layers[1][1]["metadata"][GRAPH_KEY]
    assert layers[2][1]["metadata"][GRAPH_KEY] is graph
    points = layers[1][0]
    assert len(points) == len(graph)
    # every centre lies inside the movie's physical extent
    extent = (np.array(image.shape[1:]) - 1) * np.array(kw["scale"][1:])
    assert np.all(points[:, 1:] >= 0) and np.all(points[:, 1:] <= extent + 1e-9)


def test_npe2_command_uses_the_default_preset(monkeypatch) -> None:
    seen = []
    monkeypatch.setattr(sample_data, "sample_layers", lambda p, s: seen.append((p, s)) or [])
    sample_data.make_sample_data()
    assert seen == [("default", 0)]
