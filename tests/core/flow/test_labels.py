"""Flow labels: backward displacements painted inside the children, the rest masked."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant.core.flow.labels import link_pairs, render_flow_labels
from napari_elephant.core.flow.model import PAPER_SCALE
from napari_elephant.core.graph import Link, TrackingGraph, make_nucleus
from napari_elephant.core.units import VoxelSize

ANISO = VoxelSize(2.0, 0.5, 0.5)
SHAPE = (6, 24, 24)


def pair(child_center, parent_center, radius=2.0):
    return make_nucleus(2, 1, child_center, radius=radius), make_nucleus(
        1, 0, parent_center, radius=radius
    )


def inside_sphere(center, radius):
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in SHAPE], indexing="ij"), axis=-1)
    return np.linalg.norm(grid * ANISO.array - center, axis=-1) <= radius


def test_child_is_painted_with_its_scaled_backward_displacement_on_anisotropic_voxels():
    child, parent = pair((6.0, 6.0, 6.0), (4.0, 7.0, 4.0))  # parent: -2, +1, -2 µm away
    labels = render_flow_labels(SHAPE, ANISO, [(child, parent)], PAPER_SCALE)
    expected_mask = inside_sphere(np.array(child.center), 2.0)
    assert np.array_equal(labels.mask, expected_mask)
    # (-2, 1, -2) µm = (-1, 2, -4) voxels, times (1/10, 1/80, 1/80)
    values = labels.flow[:, labels.mask]
    assert np.allclose(values, np.array([[-0.1], [0.025], [-0.05]]))
    assert labels.n_clipped == 0


def test_everything_outside_the_children_is_masked_and_zero():
    child, parent = pair((6.0, 6.0, 6.0), (6.0, 8.0, 6.0))
    labels = render_flow_labels(SHAPE, ANISO, [(child, parent)], PAPER_SCALE)
    assert 0 < labels.mask.sum() < labels.mask.size
    assert not labels.flow[:, ~labels.mask].any()
    assert labels.flow.shape == (3, *SHAPE) and labels.flow.dtype == np.float32


def test_displacements_beyond_the_range_are_clipped_and_counted():
    child, parent = pair((6.0, 6.0, 6.0), (6.0, 6.0, 6.0 + 50.0))  # 100 voxels in x
    labels = render_flow_labels(SHAPE, ANISO, [(child, parent)], PAPER_SCALE)
    assert labels.n_clipped == 1
    assert labels.flow[2, labels.mask] == pytest.approx(1.0)


def test_a_crop_rendered_with_its_origin_matches_the_full_volume():
    pairs = [pair((6.0, 5.0, 5.0), (6.0, 4.0, 6.0)), pair((4.0, 8.0, 9.0), (4.0, 9.0, 9.5))]
    full = render_flow_labels(SHAPE, ANISO, pairs, PAPER_SCALE)
    start = np.array([1, 6, 8])
    crop = render_flow_labels((4, 10, 10), ANISO, pairs, PAPER_SCALE, origin_um=ANISO.to_um(start))
    window = tuple(slice(s, s + n) for s, n in zip(start, (4, 10, 10), strict=True))
    assert np.array_equal(crop.mask, full.mask[window])
    assert np.array_equal(crop.flow, full.flow[(slice(None), *window)])
    assert crop.mask.any()


def test_only_accepted_links_from_the_previous_timepoint_are_pairs():
    g = TrackingGraph()
    g.add_nuclei(
        [
            make_nucleus(1, 0, (5, 5, 5), radius=2),
            make_nucleus(2, 1, (5, 6, 5), radius=2),
            make_nucleus(3, 0, (5, 15, 5), radius=2),
            make_nucleus(4, 1, (5, 16, 5), radius=2),
            make_nucleus(5, 0, (5, 5, 15), radius=2),
            make_nucleus(6, 2, (5, 5, 16), radius=2),
        ]
    )
    g.add_links([Link(1, 2), Link(3, 4, "predicted"), Link(5, 6)])
    assert [(c.id, p.id) for c, p in link_pairs(g, 1)] == [(2, 1)]
    assert link_pairs(g, 2) == []  # 5 -> 6 skips timepoint 1


def test_an_accepted_link_beside_a_rejected_one_is_a_pair():
    g = TrackingGraph()
    g.add_nuclei(
        [make_nucleus(i, t, (5, 5, 5 + i), radius=2) for i, t in ((1, 0), (2, 0), (3, 1))]
    )
    g.add_links([Link(1, 3, "rejected"), Link(2, 3)])
    assert [(c.id, p.id) for c, p in link_pairs(g, 1)] == [(3, 2)]
