"""Nuclei must lie in the movie they are imported into (core/io/inside.py)."""

from __future__ import annotations

import pytest

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import make_nucleus
from napari_elephant.core.io.inside import outside, require_inside
from napari_elephant.core.units import VoxelSize

VOXEL = VoxelSize(2.0, 0.5, 0.5)
SHAPE = (8, 40, 40)  # z 0–14 µm, y and x 0–19.5 µm at voxel centres


def nucleus(i: int, t: int, center: tuple[float, float, float]):
    return make_nucleus(i, t, center, radius=2.0)


def test_timepoints_and_centres_outside_are_found_with_a_voxel_of_slack():
    inside = [nucleus(1, 0, (0.0, 0.0, 0.0)), nucleus(2, 3, (14.0, 19.5, 19.5))]
    cut = [nucleus(3, 1, (-1.9, -0.4, 19.9))]  # within one voxel past the edge
    late, off = nucleus(4, 4, (5.0, 5.0, 5.0)), nucleus(5, 0, (5.0, 5.0, 21.0))
    assert outside([*inside, *cut], 4, SHAPE, VOXEL) == []
    assert [n.id for n in outside([*inside, late, off], 4, SHAPE, VOXEL)] == [4, 5]


def test_z_is_free_in_a_2d_movie():
    flat = nucleus(1, 0, (30.0, 5.0, 5.0))
    assert outside([flat], 1, (1, 40, 40), VOXEL) == []
    assert outside([flat], 1, SHAPE, VOXEL) == [flat]


def test_the_error_names_the_first_nucleus_and_says_nothing_was_imported(tmp_path):
    with pytest.raises(InvalidInputError, match=r"2 nuclei lie outside .* id 7 at t = 9"):
        require_inside(
            [nucleus(7, 9, (1.0, 1.0, 1.0)), nucleus(8, 12, (1.0, 1.0, 1.0))],
            4,
            SHAPE,
            VOXEL,
            tmp_path / "x.csv",
        )
    require_inside([], 4, SHAPE, VOXEL, tmp_path / "x.csv")  # nothing: fine
