"""Link accuracy on the synthetic ground truth, with the true centres as detections."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from napari_elephant.core.graph import Nucleus, TrackingGraph
from napari_elephant.core.linking import link_round
from napari_elephant.core.params import LinkingParams
from napari_elephant.core.synthetic import ground_truth
from napari_elephant.core.training.progress import drain


def relink(truth: TrackingGraph, method: str, estimator=None, **params) -> float:
    """Link the true nuclei (no links) and return link F1 against the true links."""
    graph = TrackingGraph.from_records(truth.nuclei())
    drain(link_round(graph, LinkingParams(**params), estimator=estimator, method=method))
    found = {lk.key for lk in graph.links()}
    true = {lk.key for lk in truth.links()}
    return 2 * len(found & true) / (len(found) + len(true))


def true_motion(truth: TrackingGraph):
    """A perfect flow model: each nucleus is estimated at its true parent's centre."""

    def estimate(t: int, nuclei: Sequence[Nucleus]) -> np.ndarray:
        out = []
        for n in nuclei:
            parent = truth.parent(n.id) if n.id in truth else None
            out.append(truth.nucleus(parent).center if parent is not None else n.center)
        return np.array(out, dtype=np.float64).reshape(-1, 3)

    return estimate


@pytest.mark.parametrize("method", ["nn", "global"])
def test_default_preset_is_linked_almost_perfectly(method):
    truth = ground_truth("default", seed=0)
    assert relink(truth, method) > 0.99


def test_fast_motion_needs_the_motion_estimate():
    truth = ground_truth("fast_motion", seed=0)
    plain = relink(truth, "nn", coherence_rounds=0)  # the paper's linking
    with_flow = relink(truth, "flow", estimator=true_motion(truth), coherence_rounds=0)
    assert plain < 0.8 < 0.95 < with_flow  # steps near the spacing: positions alone fail


def test_the_default_linker_reads_the_tissues_motion_off_its_neighbours():
    truth = ground_truth("fast_motion", seed=0)
    assert relink(truth, "nn", coherence_rounds=0) < 0.8 < 0.95 < relink(truth, "nn")
