"""The command line: the scripted version of the user's first steps, and its errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from napari_elephant.cli import main
from napari_elephant.core.io.csv_io import load_csv
from napari_elephant.core.io.geff_io import read_geff
from napari_elephant.core.workspace import Workspace


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    assert main(["sample", str(out), "--preset", "tiny", "--seed", "3"]) == 0
    return out


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "napari_elephant", *args], capture_output=True, text=True
    )


def test_sample_writes_movie_and_matching_truths(sample_dir):
    assert (sample_dir / "movie.ome.zarr").is_dir()
    geff, csv = read_geff(sample_dir / "truth.geff"), load_csv(sample_dir / "truth.csv")
    assert len(geff) > 0 and len(geff) == len(csv)
    assert sorted(n.id for n in geff.nuclei()) == sorted(n.id for n in csv.nuclei())
    assert geff.n_links == csv.n_links


def test_init_import_export_round_trip(sample_dir, tmp_path, capsys):
    ws_path = tmp_path / "embryo.elephant"
    assert main(["init", str(ws_path), "--image", str(sample_dir / "movie.ome.zarr")]) == 0
    assert "timepoints" in capsys.readouterr().out
    assert main(["import", str(ws_path), str(sample_dir / "truth.csv")]) == 0
    truth = load_csv(sample_dir / "truth.csv")
    ws = Workspace.open(ws_path)
    assert len(ws.graph) == len(truth) and ws.graph.n_links == truth.n_links
    # importing the same nuclei again (as GEFF) updates, never duplicates
    assert main(["import", str(ws_path), str(sample_dir / "truth.geff")]) == 0
    assert len(Workspace.open(ws_path).graph) == len(truth)
    out_csv = tmp_path / "out.csv"
    assert main(["export", str(ws_path), str(out_csv)]) == 0
    back = load_csv(out_csv)
    for n in truth.nuclei():
        m = back.nucleus(n.id)
        assert m.t == n.t and np.allclose(m.center, n.center) and np.allclose(m.cov, n.cov)
    assert main(["export", str(ws_path), str(tmp_path / "out.geff")]) == 0
    assert read_geff(tmp_path / "out.geff").n_links == truth.n_links


def test_init_takes_voxel_size_from_the_command_line(sample_dir, tmp_path):
    ws_path = tmp_path / "w.elephant"
    movie = str(sample_dir / "movie.ome.zarr")
    assert main(["init", str(ws_path), "--image", movie, "--voxel-size", "3", "1", "1"]) == 0
    assert Workspace.open(ws_path).voxel_size.as_tuple() == (3.0, 1.0, 1.0)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["init", "{tmp}/a.elephant", "--image", "{tmp}/missing.zarr"], "missing.zarr"),
        (["init", "{tmp}/a.elephant", "--image", "{tmp}/notes.txt"], "notes.txt"),
        (
            ["init", "{tmp}/a.elephant", "--image", "{movie}", "--voxel-size", "0", "1", "1"],
            "positive",
        ),
        (["import", "{tmp}/nowhere.elephant", "{tmp}/notes.txt"], "nowhere.elephant"),
        (["export", "{tmp}/nowhere.elephant", "{tmp}/x.csv"], "nowhere.elephant"),
        (["export", "{tmp}/nowhere.elephant", "{tmp}/x.xyz"], "--format"),
    ],
    ids=["missing-image", "not-an-image", "voxel-size", "import-no-ws", "export-no-ws", "fmt"],
)
def test_bad_input_gives_one_line_and_nonzero_exit(sample_dir, tmp_path, capsys, args, expected):
    (tmp_path / "notes.txt").write_text("hello\n")
    movie = str(sample_dir / "movie.ome.zarr")
    argv = [a.format(tmp=tmp_path, movie=movie) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("napari-elephant: error: ") and expected in err
    assert "\n" not in err and "Traceback" not in err


def test_bad_csv_row_is_reported_with_its_line(sample_dir, tmp_path, capsys):
    ws_path = tmp_path / "w.elephant"
    main(["init", str(ws_path), "--image", str(sample_dir / "movie.ome.zarr")])
    bad = tmp_path / "bad.csv"
    lines = (sample_dir / "truth.csv").read_text().splitlines()
    lines[2] = lines[2].replace(lines[2].split(",")[2], "oops", 1)
    bad.write_text("\n".join(lines) + "\n")
    assert main(["import", str(ws_path), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "3" in err and "bad.csv" in err
    assert len(Workspace.open(ws_path).graph) == 0  # nothing half-imported


def test_module_entry_point_and_usage_errors():
    out = run_cli("--version")
    assert out.returncode == 0 and "napari-elephant" in out.stdout
    out = run_cli("init")
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_first_round_from_the_command_line(sample_dir, tmp_path, capsys, monkeypatch):
    """init → import a few annotations → train-detection → predict."""
    ws_path = tmp_path / "w.elephant"
    main(["init", str(ws_path), "--image", str(sample_dir / "movie.ome.zarr")])
    truth = load_csv(sample_dir / "truth.csv")
    few = tmp_path / "few.csv"
    lines = (sample_dir / "truth.csv").read_text().splitlines()
    first = [ln for ln in lines[1:] if ln.split(",")[1] == "0"][:3]
    few.write_text("\n".join([lines[0], *[_no_parent(ln) for ln in first]]) + "\n")
    assert main(["import", str(ws_path), str(few)]) == 0
    ws = Workspace.open(ws_path)
    ws.params.training.seed = 0  # a repeatable round
    ws.save_settings()
    assert main(["train-detection", str(ws_path), "--steps", "30", "--timepoints", "0:1"]) == 0
    assert "model saved" in capsys.readouterr().out
    assert main(["predict", str(ws_path), "--timepoints", "0:2"]) == 0
    assert "predicted 2 timepoints" in capsys.readouterr().out
    graph = Workspace.open(ws_path).graph
    assert len(graph.ids_at(1)) > 0  # predictions were saved
    assert len(graph.ids_at(0)) <= 3 * len(truth.ids_at(0))
    _interrupted_prediction_keeps_what_it_finished(ws_path, capsys, monkeypatch)
    _a_long_prediction_saves_as_it_goes(ws_path, monkeypatch)


def _a_long_prediction_saves_as_it_goes(ws_path: Path, monkeypatch) -> None:
    """A kill -9 loses at most SAVE_EVERY_S of a run: here every timepoint is saved."""
    from napari_elephant.cli import detection as detection_cli

    monkeypatch.undo()  # the interrupted prediction's patch
    saves: list[int] = []
    real = Workspace.save_graph
    monkeypatch.setattr(detection_cli, "SAVE_EVERY_S", 0.0)
    monkeypatch.setattr(Workspace, "save_graph", lambda ws, *a: saves.append(1) or real(ws, *a))
    assert main(["predict", str(ws_path), "--timepoints", "0:2"]) == 0
    assert len(saves) == 3  # after each timepoint, and at the end


def _interrupted_prediction_keeps_what_it_finished(ws_path: Path, capsys, monkeypatch) -> None:
    """Ctrl+C after timepoint 2: the predictions of t = 2 are saved, t = 3 untouched."""
    from napari_elephant.core.detection import engine

    real = engine.predict_round

    def interrupted(*args, **kwargs):
        for record in real(*args, **kwargs):
            yield record
            raise KeyboardInterrupt

    monkeypatch.setattr(engine, "predict_round", interrupted)
    assert main(["predict", str(ws_path), "--timepoints", "2:4"]) == 130
    assert "interrupted" in capsys.readouterr().err
    graph = Workspace.open(ws_path).graph
    assert len(graph.ids_at(2)) > 0 and len(graph.ids_at(3)) == 0


def _no_parent(line: str) -> str:
    cells = line.split(",")
    cells[11] = ""
    return ",".join(cells)


def test_cuda_asked_but_absent_is_one_line(sample_dir, tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    ws_path = tmp_path / "w.elephant"
    main(["init", str(ws_path), "--image", str(sample_dir / "movie.ome.zarr")])
    assert main(["train-detection", str(ws_path), "--device", "cuda"]) == 2
    assert "CUDA" in capsys.readouterr().err


def test_train_detection_from_the_pretrained_model(sample_dir, tmp_path, capsys):
    ws_path = tmp_path / "w.elephant"
    main(["init", str(ws_path), "--image", str(sample_dir / "movie.ome.zarr")])
    lines = (sample_dir / "truth.csv").read_text().splitlines()
    first = [_no_parent(ln) for ln in lines[1:] if ln.split(",")[1] == "0"][:2]
    (tmp_path / "few.csv").write_text("\n".join([lines[0], *first]) + "\n")
    assert main(["import", str(ws_path), str(tmp_path / "few.csv")]) == 0
    args = ["train-detection", str(ws_path), "--steps", "2", "--timepoints", "0:1"]
    assert main([*args, "--from-pretrained", "--from-scratch"]) == 2
    assert "exclude each other" in capsys.readouterr().err
    assert main([*args, "--from-pretrained"]) == 0
    assert "trained 2 steps" in capsys.readouterr().out


def test_init_takes_the_nucleus_diameter_and_refuses_a_bad_one(sample_dir, tmp_path, capsys):
    movie = str(sample_dir / "movie.ome.zarr")
    ws_path = tmp_path / "w.elephant"
    assert main(["init", str(ws_path), "--image", movie, "--nucleus-diameter", "12"]) == 0
    assert Workspace.open(ws_path).params.detection.nucleus_diameter == 12.0
    bad = ["init", str(tmp_path / "v.elephant"), "--image", movie, "--nucleus-diameter", "-1"]
    assert main(bad) == 2
    err = capsys.readouterr().err
    assert "nucleus_diameter" in err and len(err.strip().splitlines()) == 1


def test_nuclei_outside_the_movie_are_refused_and_nothing_is_imported(sample_dir, tmp_path):
    ws_path = tmp_path / "w.elephant"
    assert main(["init", str(ws_path), "--image", str(sample_dir / "movie.ome.zarr")]) == 0
    header, *rows = (sample_dir / "truth.csv").read_text().splitlines()

    def with_last(column: int, value: str) -> Path:
        """The truth with its last nucleus (a leaf) changed and cut from its parent."""
        last = rows[-1].split(",")
        last[column], last[11] = value, ""
        path = tmp_path / f"changed{column}.csv"
        path.write_text("\n".join([header, *rows[:-1], ",".join(last)]) + "\n")
        return path

    result = run_cli("import", str(ws_path), str(with_last(1, "19")))  # t = 19 of 4
    assert result.returncode == 2 and "Traceback" not in result.stderr
    last_id = rows[-1].split(",")[0]
    assert "outside the movie" in result.stderr and f"id {last_id} at t = 19" in result.stderr
    assert len(Workspace.open(ws_path).graph) == 0
    far = run_cli("import", str(ws_path), str(with_last(4, "2000")))  # 2 mm off the side
    assert far.returncode == 2 and "outside the movie" in far.stderr
    assert main(["import", str(ws_path), str(sample_dir / "truth.csv")]) == 0  # the right one
