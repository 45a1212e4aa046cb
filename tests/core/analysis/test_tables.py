"""Tables of a hand-built lineage: tracks, generations, cell cycles, divisions, sizes."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from napari_elephant.core.analysis.tables import (
    divisions_table,
    lineage_of,
    looks_flat,
    nuclei_table,
    tracks_table,
)
from napari_elephant.core.ellipsoid import flat_cov
from napari_elephant.core.graph import TrackingGraph, make_nucleus
from tests.core.analysis.helpers import hand_lineage


def by(table, key: str) -> dict[int, dict]:
    cols = table.columns
    return {int(k): {n: cols[n][i] for n in cols} for i, k in enumerate(cols[key])}


def test_rejected_nuclei_and_links_are_not_lineage() -> None:
    lin = lineage_of(hand_lineage())
    assert 11 not in lin.ids.tolist() and len(lin) == 11
    rows = by(nuclei_table(lin), "id")
    assert rows[12]["parent"] == -1 and rows[12]["track"] == 12


def test_nuclei_know_their_track_generation_and_speed() -> None:
    rows = by(nuclei_table(lineage_of(hand_lineage())), "id")
    assert {i: rows[i]["track"] for i in (1, 2, 3, 5, 6, 4, 9, 7, 8)} == {
        1: 1, 2: 1, 3: 3, 5: 3, 6: 3, 4: 4, 9: 4, 7: 7, 8: 8
    }  # fmt: skip
    assert [rows[i]["generation"] for i in (1, 2, 3, 9, 6, 7, 8)] == [0, 0, 1, 1, 1, 2, 2]
    assert np.isnan(rows[1]["speed_um_per_t"]) and rows[5]["speed_um_per_t"] == pytest.approx(3)
    assert rows[4]["speed_um_per_t"] == pytest.approx(np.hypot(3, 10))
    assert rows[2]["volume_um3"] == pytest.approx(4 / 3 * np.pi * 8)
    assert rows[2]["link_confidence"] == 0.9 and rows[2]["confidence"] == 0.5


def test_tracks_end_in_a_division_an_end_or_the_last_timepoint() -> None:
    rows = by(tracks_table(lineage_of(hand_lineage())), "track")
    assert sorted(rows) == [1, 3, 4, 7, 8, 10, 12]
    three = rows[3]
    assert (three["t_start"], three["t_end"], three["n_nuclei"]) == (2, 4, 3)
    assert (three["parent_track"], three["generation"], three["ends_in"]) == (1, 1, "division")
    assert three["cycle_length_t"] == 3  # born of 2 at t=1, divides at t=4
    assert rows[1]["cycle_length_t"] == -1  # no division before it in the movie
    assert rows[4]["ends_in"] == "end" and rows[4]["cycle_length_t"] == -1
    assert rows[7]["ends_in"] == "last t" and rows[7]["parent_track"] == 3
    assert rows[1]["mean_speed_um_per_t"] == pytest.approx(3)
    assert rows[3]["n_accepted"] == 3


def test_divisions_list_mother_daughters_and_their_likeness() -> None:
    rows = by(divisions_table(lineage_of(hand_lineage())), "mother")
    assert sorted(rows) == [2, 6]
    two = rows[2]
    assert (two["t"], two["daughter_a"], two["daughter_b"]) == (1, 3, 4)
    assert (two["mother_track"], two["generation"], two["status"]) == (1, 0, "accepted")
    assert two["separation_um"] == pytest.approx(10)
    assert two["sister_size_ratio"] == pytest.approx(1) and two["confidence"] == 0.9
    assert rows[6]["generation"] == 1


def test_csv_holds_a_header_and_leaves_unknown_numbers_empty(tmp_path) -> None:
    path = nuclei_table(lineage_of(hand_lineage())).write_csv(tmp_path / "n.csv")
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 11 and not list(tmp_path.glob("*.tmp"))
    first = next(r for r in rows if r["id"] == "1")
    assert first["speed_um_per_t"] == "" and first["status"] == "accepted"


def test_a_2d_lineage_reports_areas() -> None:
    cov = flat_cov(np.diag([4.0, 9.0]))  # semi-axes 2 and 3 µm
    graph = TrackingGraph()
    graph.add_nuclei([make_nucleus(1, 0, (0.0, 5.0, 5.0), cov=cov)])
    assert looks_flat(graph) and not looks_flat(hand_lineage())
    rows = by(nuclei_table(lineage_of(graph, two_d=True)), "id")
    assert rows[1]["area_um2"] == pytest.approx(np.pi * 6)
