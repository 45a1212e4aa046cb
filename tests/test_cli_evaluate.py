"""``napari-elephant evaluate``: every input format, the table, JSON, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from napari_elephant.cli import main
from napari_elephant.cli.evaluate import load_graph, timepoint_range
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.io.geff_io import read_geff
from napari_elephant.core.sample import SampleFiles, write_sample
from napari_elephant.core.workspace import Workspace


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> SampleFiles:
    return write_sample(tmp_path_factory.mktemp("sample"), "tiny", seed=3)


@pytest.fixture(scope="module")
def workspace(sample, tmp_path_factory) -> tuple[Path, int]:
    """A workspace holding the truth less one nucleus that has a parent (id returned)."""
    path = tmp_path_factory.mktemp("ws") / "embryo.elephant"
    ws = Workspace.create(path, sample.movie, graph=read_geff(sample.truth_geff))
    gone = next(n.id for n in ws.graph.nuclei() if ws.graph.parent(n.id) is not None)
    ws.graph.remove_nuclei([gone])
    ws.save_graph()
    return path, gone


def evaluate_json(capsys, *args: str) -> dict:
    assert main(["evaluate", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_truth_scores_perfectly_against_itself_in_another_format(sample, capsys):
    out = evaluate_json(capsys, str(sample.truth_csv), str(sample.truth_geff))
    n, links = len(sample.data.graph), sample.data.graph.n_links
    assert out["detection"] == {
        "tp": n,
        "fp": 0,
        "fn": 0,
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
    }
    assert out["links"]["tp"] == links and out["DET"] == 1.0 and out["TRA"] == 1.0
    assert out["dmax_um"] == 3.0 and out["aogm"]["truth_links"] == links


def test_a_workspace_missing_one_nucleus_loses_it_and_its_links(workspace, sample, capsys):
    path, gone = workspace
    truth = sample.data.graph
    n_links_lost = len(truth.children(gone)) + 1
    out = evaluate_json(capsys, str(path), str(sample.truth_geff), "--dmax", "2")
    assert (out["detection"]["tp"], out["detection"]["fn"]) == (len(truth) - 1, 1)
    assert out["links"]["fn"] == n_links_lost and out["links"]["fp"] == 0
    assert out["aogm"]["FN"] == 1 and out["aogm"]["EA"] == n_links_lost
    assert out["dmax_um"] == 2.0
    assert out["DET"] == pytest.approx(1 - 10 / (10 * len(truth)))


def test_the_table_lists_every_score(workspace, sample, capsys):
    assert main(["evaluate", str(workspace[0]), str(sample.truth_csv)]) == 0
    out = capsys.readouterr().out
    for word in ("detection", "links", "divisions", "precision", "DET", "TRA", "AOGM", "3 µm"):
        assert word in out
    header = next(line for line in out.splitlines() if "precision" in line)
    row = next(line for line in out.splitlines() if line.startswith("detection"))
    assert len(row) == len(header)  # aligned columns


def test_a_ctc_folder_is_read_as_a_graph(sample, tmp_path, capsys):
    from napari_elephant.core.io.ctc import write_ctc

    movie = sample.data
    folder = tmp_path / "01_RES"
    write_ctc(movie.graph, folder, movie.image.shape[1:], movie.voxel_size)
    out = evaluate_json(capsys, str(folder), str(sample.truth_geff))
    assert out["detection"]["f1"] > 0.9 and out["links"]["f1"] > 0.9
    assert out["result"] == str(folder)


def test_timepoints_restrict_both_graphs(sample, capsys):
    truth = sample.data.graph
    out = evaluate_json(
        capsys, str(sample.truth_csv), str(sample.truth_geff), "--timepoints", "1:"
    )
    assert out["detection"]["tp"] == len(truth) - len(truth.ids_at(0))
    assert timepoint_range("2", [truth]) == [2]
    with pytest.raises(InvalidInputError, match="A:B"):
        timepoint_range("x:y", [truth])


def test_unknown_inputs_are_one_line_errors(sample, tmp_path, capsys):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert main(["evaluate", str(text), str(sample.truth_geff)]) == 2
    assert "not a workspace, GEFF, CSV file or CTC folder" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "nope.csv"), str(sample.truth_geff)]) == 2
    assert "no such file" in capsys.readouterr().err
    args = ["evaluate", str(sample.truth_csv), str(sample.truth_geff), "--dmax", "-1"]
    assert main(args) == 2
    assert "dmax" in capsys.readouterr().err
    with pytest.raises(InvalidInputError):
        load_graph(text)
