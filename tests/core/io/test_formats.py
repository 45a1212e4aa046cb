"""The format registry: guessing formats, reading and writing each, fresh ids for merges."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import TrackingGraph
from napari_elephant.core.io.formats import (
    GRAPH_FORMATS,
    guess_format,
    read_graph,
    with_fresh_ids,
    write_graph,
)
from napari_elephant.core.synthetic import generate

SHAPE = (4, 8, 48, 48)


@pytest.fixture(scope="module")
def movie():
    return generate("tiny", 3)


def structure(g: TrackingGraph) -> list:
    """The lineage as (t, parent's t, number of children) per nucleus, ids forgotten."""
    out = []
    for n in g.nuclei():
        p = g.parent(n.id)
        out.append((n.t, None if p is None else g.nucleus(p).t, len(g.children(n.id))))
    return sorted(out, key=str)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("truth.csv", "csv"),
        ("graph.geff", "geff"),
        ("graph.zarr", "geff"),
        ("session.xml", "trackmate"),
        ("labels.tif", "ctc"),
        ("01_RES", "ctc"),
        ("01_GT", "ctc"),
    ],
)
def test_guess_format_from_names(tmp_path, name, expected):
    assert guess_format(tmp_path / name) == expected


def test_guess_format_from_folder_content(tmp_path, movie):
    write_graph(movie.graph, tmp_path / "g.geff", "geff")
    (tmp_path / "g.geff").rename(tmp_path / "plain")
    assert guess_format(tmp_path / "plain") == "geff"
    write_graph(movie.graph, tmp_path / "r", "ctc", movie.voxel_size, SHAPE)
    assert guess_format(tmp_path / "r") == "ctc"
    (tmp_path / "gt" / "TRA").mkdir(parents=True)
    (tmp_path / "gt" / "TRA" / "man_track.txt").write_text("")
    assert guess_format(tmp_path / "gt") == "ctc"
    with pytest.raises(InvalidInputError, match="--format"):
        guess_format(tmp_path / "notes.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="--format"):
        guess_format(tmp_path / "empty")


@pytest.mark.parametrize("fmt", GRAPH_FORMATS)
def test_every_format_writes_and_reads_back(tmp_path, movie, fmt):
    path = tmp_path / {"csv": "g.csv", "geff": "g.geff", "ctc": "g_RES", "trackmate": "g.xml"}[fmt]
    summary = write_graph(movie.graph, path, fmt, movie.voxel_size, SHAPE)
    assert str(len(movie.graph)) in summary
    back = read_graph(path)  # format guessed from the file
    assert len(back) == len(movie.graph) and back.n_links == movie.graph.n_links
    assert structure(back) == structure(movie.graph)
    if fmt != "ctc":  # CTC voxelises; the others keep nuclei exactly
        assert sorted(back.nuclei(), key=lambda n: n.id) == sorted(
            movie.graph.nuclei(), key=lambda n: n.id
        )


def test_write_refuses_existing_paths_and_ctc_needs_the_movie_grid(tmp_path, movie):
    (tmp_path / "g.csv").write_text("keep me")
    with pytest.raises(InvalidInputError, match="--overwrite"):
        write_graph(movie.graph, tmp_path / "g.csv", "csv")
    assert (tmp_path / "g.csv").read_text() == "keep me"
    write_graph(movie.graph, tmp_path / "g.csv", "csv", overwrite=True)
    with pytest.raises(InvalidInputError, match="shape"):
        write_graph(movie.graph, tmp_path / "r", "ctc", movie.voxel_size)
    with pytest.raises(InvalidInputError, match="unknown format"):
        write_graph(movie.graph, tmp_path / "x", "mastodon")


def test_ctc_export_reports_progress(tmp_path, movie):
    records = []
    write_graph(
        movie.graph, tmp_path / "r", "ctc", movie.voxel_size, SHAPE, progress=records.append
    )
    assert [r.step for r in records] == [1, 2, 3, 4]


def test_with_fresh_ids_keeps_the_graph_under_new_numbers(movie):
    g = movie.graph
    fresh = with_fresh_ids(g, 1000)
    assert sorted(n.id for n in fresh.nuclei()) == list(range(1000, 1000 + len(g)))
    assert structure(fresh) == structure(g)
    old = sorted(g.nuclei(), key=lambda n: n.id)
    new = sorted(fresh.nuclei(), key=lambda n: n.id)
    assert all(a.center == b.center and a.t == b.t for a, b in zip(old, new, strict=True))
    assert np.array_equal([n.cov for n in old], [n.cov for n in new])
