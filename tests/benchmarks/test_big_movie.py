"""The pure helpers of benchmarks/big_movie.py: tiling, the progress bar, VmHWM, the verdict."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from big_movie import (
    TiledMovie,
    finished_timepoints,
    judge_cancel,
    parse_progress,
    read_vmhwm,
    screen_lines,
    tile_block,
)

# What the CLI's ProgressBar (tqdm) draws on a terminal: \r, the bar, the record's
# summary (a pty adds \r\n).
BAR = "\r 50%|{}| 00:02<00:02, prediction {}/{}  {} s  t={}: {} nuclei"
STATUS = "Name:\tpython\nVmPeak:\t 2000000 kB\nVmHWM:\t  812345 kB\nVmRSS:\t  700000 kB\n"


def drawn(*records: tuple[int, int, float, int, int]) -> str:
    return "".join(BAR.format("#" * s, s, n, e, t, k) for s, n, e, t, k in records)


def test_tiles_mirror_alternate_blocks_so_seams_are_continuous():
    frame = np.arange(2 * 3 * 4, dtype=np.uint16).reshape(2, 3, 4)
    out = tile_block(frame, reps=4)
    assert out.shape == (2, 12, 16) and out.dtype == np.uint16
    np.testing.assert_array_equal(out[:, :3, :4], frame)
    np.testing.assert_array_equal(out[:, :3, 4:8], frame[:, :, ::-1])
    np.testing.assert_array_equal(out[:, 3:6, :4], frame[:, ::-1, :])
    np.testing.assert_array_equal(out[:, 3:6, 4:8], frame[:, ::-1, ::-1])
    np.testing.assert_array_equal(out[:, 6:9, 8:12], frame)  # period two tiles
    np.testing.assert_array_equal(out[:, :, 3], out[:, :, 4])  # mirrored at the seam
    np.testing.assert_array_equal(out[:, 2], out[:, 3])


def test_tiled_movie_is_the_block_then_zeros():
    block = np.ones((2, 2, 3, 3), dtype=np.uint16)
    movie = TiledMovie(block, n_t=5, reps=2)
    assert movie.shape == (5, 2, 6, 6) and movie.ndim == 4 and movie.dtype == np.uint16
    assert movie[1].shape == (2, 6, 6) and movie[1].min() == 1
    assert movie[2].shape == (2, 6, 6) and not movie[4].any()


def test_progress_is_the_last_record_drawn():
    text = drawn((10, 97, 4.6, 3, 128), (20, 97, 9.25, 4, 150))
    assert parse_progress(text) == (20, 97, 9.25)
    assert parse_progress(text[: len(text) // 2]) == (10, 97, 4.6)
    assert parse_progress("") is None
    assert parse_progress("napari-elephant: error: interrupted\r\n") is None


def test_finished_timepoints_come_from_the_bar_even_split_across_reads():
    text = drawn((1, 4, 1.0, 2, 128), (2, 4, 2.0, 3, 0)) + "\r\nnapari-elephant: error: x\r\n"
    assert finished_timepoints(text) == {2: 128, 3: 0}
    cut = text.index(" nuclei") - 1  # a read ending inside the first count: "t=2: 12"
    assert finished_timepoints(text[:cut]) == {}
    assert finished_timepoints("") == {}


def test_screen_lines_separates_redraws_from_other_lines():
    text = drawn((1, 2, 1.0, 0, 5), (2, 2, 2.0, 1, 6)) + "\r\npredicted 2 timepoints\r\n"
    assert len(screen_lines(text, bar=True)) == 2
    assert screen_lines(text)[-1] == "predicted 2 timepoints"


def test_vmhwm_is_read_in_kib_and_missing_means_none(tmp_path):
    status = tmp_path / "status"
    status.write_text(STATUS)
    assert read_vmhwm(status) == 812345
    status.write_text("Name:\tzombie\nState:\tZ (zombie)\n")
    assert read_vmhwm(status) is None
    assert read_vmhwm(tmp_path / "gone") is None
    assert read_vmhwm(Path("/proc/self/status")) > 0


def test_cancel_passes_when_finished_are_kept_and_nothing_past_the_one_in_flight():
    verdict = judge_cancel({3: 10, 4: 12}, {3: 10, 4: 11}, 3, 100)
    assert verdict["ok"] and verdict["in_flight"] == 5
    assert judge_cancel({3: 10, 4: 12}, {3: 10, 4: 11, 5: 9}, 3, 100)["ok"]  # in flight: either


def test_cancel_fails_on_lost_or_extra_timepoints_or_no_cancel():
    assert judge_cancel({3: 10, 4: 12}, {3: 10}, 3, 100)["lost"] == [4]
    assert judge_cancel({3: 10, 4: 12}, {3: 10, 4: 12, 6: 1}, 3, 100)["saved_beyond"] == [6]
    assert not judge_cancel({3: 10, 4: 12}, {3: 10, 4: 12}, 3, 5)["ok"]  # ran to the end
    assert not judge_cancel({3: 0, 4: 0}, {}, 3, 100)["ok"]  # nothing found: no proof
    assert not judge_cancel({}, {}, 3, 100)["ok"]
