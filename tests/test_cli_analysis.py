"""``napari-elephant analyze``: a lineage's tables and plots from a file or a workspace."""

from __future__ import annotations

import csv

from napari_elephant.cli import main
from napari_elephant.core.io.csv_io import write_csv
from tests._napari.helpers import write_workspace
from tests.core.analysis.helpers import hand_lineage


def test_a_csv_lineage_gives_every_table_and_plot(tmp_path, capsys) -> None:
    source = tmp_path / "lineage.csv"
    graph = hand_lineage()
    graph.remove_nuclei([11, 12])  # CSV keeps no rejected link
    write_csv(graph, source)
    assert main(["analyze", str(source), "--out", str(tmp_path / "out")]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("10 nuclei, 2 divisions, 2 lineages: 13 files in")
    with open(tmp_path / "out" / "tracks.csv", newline="") as handle:
        tracks = {r["track"]: r for r in csv.DictReader(handle)}
    assert tracks["3"]["cycle_length_t"] == "3" and tracks["3"]["ends_in"] == "division"


def test_a_workspace_is_analysed_with_its_movie_dimensions(tmp_path, capsys) -> None:
    ws = write_workspace(tmp_path)
    assert main(["analyze", str(ws), "--out", str(tmp_path / "a")]) == 0
    assert "volume_um3" in (tmp_path / "a" / "nuclei.csv").read_text().splitlines()[0]


def test_a_missing_source_is_a_one_line_error(tmp_path, capsys) -> None:
    assert main(["analyze", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("nope.csv: no such file or folder") and "\n" not in err
    assert not (tmp_path / "o").exists()
