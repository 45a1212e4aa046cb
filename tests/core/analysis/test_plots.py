"""Plots of a lineage: the counts they are drawn from, and the files written."""

from __future__ import annotations

import csv

import numpy as np

from napari_elephant.core.analysis.plots import lineage_plots, per_timepoint, write_analysis
from napari_elephant.core.analysis.tables import lineage_of
from tests.core.analysis.helpers import hand_lineage


def test_counts_per_timepoint() -> None:
    table = per_timepoint(lineage_of(hand_lineage()))
    assert table.columns["t"].tolist() == [0, 1, 2, 3, 4, 5]
    assert table.columns["nuclei"].tolist() == [2, 2, 2, 2, 1, 2]
    assert table.columns["divisions"].tolist() == [0, 1, 0, 0, 1, 0]


def test_the_cycle_plot_holds_only_complete_cycles() -> None:
    plots = {p.name: p for p in lineage_plots(lineage_of(hand_lineage()))}
    assert set(plots) == {
        "nuclei_per_timepoint", "divisions_per_timepoint", "cell_cycle_length",
        "track_length", "speed",
    }  # fmt: skip
    assert plots["cell_cycle_length"].data.columns["track"].tolist() == [3]
    figure = plots["cell_cycle_length"].figure()
    bars = figure.axes[0].patches
    assert sum(b.get_height() for b in bars) == 1


def test_every_table_and_plot_is_written(tmp_path) -> None:
    written = write_analysis(lineage_of(hand_lineage()), tmp_path / "out")
    names = sorted(p.name for p in written)
    assert "nuclei.csv" in names and "speed.png" in names and len(names) == 13
    assert all(p.stat().st_size > 0 for p in written)
    assert (tmp_path / "out" / "speed.png").read_bytes()[:4] == b"\x89PNG"
    with open(tmp_path / "out" / "divisions_per_timepoint.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["divisions"]) for r in rows] == [0, 1, 0, 0, 1, 0]
    assert not list((tmp_path / "out").glob("*.tmp*"))


def test_an_empty_lineage_still_draws() -> None:
    from napari_elephant.core.graph import TrackingGraph

    for plot in lineage_plots(lineage_of(TrackingGraph())):
        first_column = next(iter(plot.data.columns.values()))
        assert plot.figure().axes and np.size(first_column) == 0


def test_tag_sets_get_their_own_plots_and_a_track_column() -> None:
    from napari_elephant.core.analysis.tables import tracks_table
    from napari_elephant.core.tagsets import TagSet, tag_nuclei

    graph = hand_lineage()
    fate = TagSet(name="fate").with_value("neuron").with_value("epidermis")
    tag_nuclei(graph, [3, 5], fate, "neuron")  # two of track 3's three nuclei
    tag_nuclei(graph, [6], fate, "epidermis")
    tag_nuclei(graph, [9], fate, "epidermis")
    lin = lineage_of(graph)
    tracks = tracks_table(lin)
    cols = tracks.columns
    by_track = dict(zip(cols["track"].tolist(), cols["tag:fate"].tolist(), strict=True))
    assert by_track[3] == "neuron" and by_track[4] == "epidermis" and by_track[1] == ""
    plots = {p.name: p for p in lineage_plots(lin)}
    counts = plots["nuclei_per_timepoint_by_fate"].data.columns
    assert counts["neuron"].tolist() == [0, 0, 1, 1, 0, 0]
    assert counts["epidermis"].tolist() == [0, 0, 0, 1, 1, 0]
    cycles = plots["cell_cycle_length_by_fate"]
    assert cycles.data.columns["fate"].tolist() == ["neuron"]
    assert len(cycles.figure().axes[0].get_legend().get_texts()) == 2
