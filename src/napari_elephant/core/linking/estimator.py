"""Where was a nucleus one timepoint earlier?  The interface the linkers consume.

ELEPHANT links a nucleus at t to the nucleus at t−1 nearest to its *estimated*
position at t−1: its own centre for plain nearest neighbour, its centre moved
by the flow model's backward displacement otherwise.  The flow engine
(``core/flow/engine.py``) provides a concrete estimator; linking only needs
this protocol, so it never imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Nucleus


class PositionEstimator(Protocol):
    """Estimated centres (µm) at t−1 of nuclei observed at timepoint t.

    ``nuclei`` are records of timepoint ``t``; during gap interpolation they
    may be virtual nuclei (negative ids, centre and covariance set) that do
    not exist in the graph.  Returns an ``(len(nuclei), 3)`` array (z, y, x).
    """

    def __call__(self, t: int, nuclei: Sequence[Nucleus]) -> np.ndarray: ...


def identity_estimator(t: int, nuclei: Sequence[Nucleus]) -> np.ndarray:
    """No motion model: each nucleus is expected where it is now."""
    return centers_of(nuclei)


def centers_of(nuclei: Sequence[Nucleus]) -> np.ndarray:
    """(n, 3) centres (µm) of records, also for an empty sequence."""
    return np.array([n.center for n in nuclei], dtype=np.float64).reshape(-1, 3)


def estimate_previous(
    estimator: PositionEstimator | None, t: int, nuclei: Sequence[Nucleus]
) -> tuple[np.ndarray, np.ndarray | None]:
    """(estimated centres at t−1, estimated displacement lengths or None).

    The displacement is None without a motion model (no estimator, or the
    identity): the nearest-neighbour rules then use the distance to the
    candidate parent as the displacement, as ELEPHANT does without flow.
    """
    centers = centers_of(nuclei)
    if estimator is None or estimator is identity_estimator or not len(nuclei):
        return centers, None
    est = np.asarray(estimator(t, nuclei), dtype=np.float64)
    if est.shape != centers.shape or not np.all(np.isfinite(est)):
        raise InvalidInputError(
            f"position estimator gave {est.shape} values at t={t} for {len(nuclei)} nuclei "
            "(expected finite (n, 3) centres in µm)"
        )
    return est, np.linalg.norm(est - centers, axis=1)
