"""The writer saves the graph behind our layers, and converts hand-made layers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_elephant._napari.layers import points_layer_data, tracks_layer_data
from napari_elephant._napari.writer import (
    graph_from_points,
    graph_from_tracks,
    write_layers,
    write_points,
    write_tracks,
)
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.io.csv_io import load_csv
from napari_elephant.core.io.geff_io import read_geff
from tests._napari.helpers import division_graph, same_graph


@pytest.mark.parametrize("suffix", [".geff", ".csv"])
@pytest.mark.parametrize("layer", ["points", "tracks"])
def test_our_layers_write_their_graph(tmp_path: Path, suffix: str, layer: str) -> None:
    g = division_graph()
    make, write = {
        "points": (points_layer_data, write_points),
        "tracks": (tracks_layer_data, write_tracks),
    }[layer]
    data, meta, _ = make(g, "x")
    path = tmp_path / f"out{suffix}"
    assert write(str(path), data, meta) == [str(path)]
    back = read_geff(path) if suffix == ".geff" else load_csv(path)
    assert same_graph(back, g, csv=suffix == ".csv")


def test_writing_again_replaces_a_geff(tmp_path: Path) -> None:
    g = division_graph()
    data, meta, _ = points_layer_data(g, "x")
    path = str(tmp_path / "out.geff")
    write_points(path, data, meta)
    g.remove_nuclei([6])
    write_points(path, data, meta)
    assert 6 not in read_geff(path)


def test_nuclei_and_tracks_together_write_one_graph(tmp_path: Path) -> None:
    g = division_graph()
    layers = [points_layer_data(g, "x"), tracks_layer_data(g, "x")]
    path = tmp_path / "both.geff"
    write_layers(str(path), layers)
    assert same_graph(read_geff(path), g)
    other = points_layer_data(division_graph(), "y")
    with pytest.raises(InvalidInputError, match="different"):
        write_layers(str(tmp_path / "no.geff"), [layers[0], other])


def test_unknown_extension_is_refused(tmp_path: Path) -> None:
    data, meta, _ = points_layer_data(division_graph(), "x")
    with pytest.raises(InvalidInputError, match=r"\.geff or \.csv"):
        write_points(str(tmp_path / "out.txt"), data, meta)


def test_hand_drawn_points_become_accepted_spheres_in_world_units() -> None:
    data = np.array([[0, 1, 2, 3], [2, 4, 5, 6]], dtype=float)
    meta = {"size": np.array([4.0, 6.0]), "scale": (1, 2, 0.5, 0.5), "translate": (0, 0, 0, 1)}
    g = graph_from_points(data, meta)
    assert len(g) == 2 and g.n_links == 0
    a, b = sorted(g.nuclei(), key=lambda n: n.t)
    assert (a.t, b.t) == (0, 2)
    np.testing.assert_allclose(a.center, (2.0, 1.0, 2.5))
    np.testing.assert_allclose((a.radius, b.radius), (2.0, 3.0))
    assert {a.status.value, b.status.value} == {"accepted"}


def test_hand_drawn_points_need_a_size() -> None:
    with pytest.raises(InvalidInputError, match="size"):
        graph_from_points(np.zeros((1, 4)), {"size": np.zeros(1)})


def test_hand_made_tracks_become_links_with_divisions() -> None:
    data = np.array(
        [[1, 0, 0, 0, 0], [1, 1, 0, 1, 1], [2, 2, 0, 2, 2], [3, 2, 0, 0, 5], [2, 3, 0, 3, 3]],
        dtype=float,
    )
    g = graph_from_tracks(data, {"graph": {2: [1], 3: 1}})
    assert len(g) == 5
    by_t_x = {(n.t, n.center[2]): n.id for n in g.nuclei()}
    mother = by_t_x[(1, 1.0)]
    assert sorted(g.children(mother)) == sorted([by_t_x[(2, 2.0)], by_t_x[(2, 5.0)]])
    assert g.children(by_t_x[(2, 2.0)]) == [by_t_x[(3, 3.0)]]
    assert g.n_links == 4
