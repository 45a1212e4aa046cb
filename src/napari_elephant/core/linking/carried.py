"""Motion carried forward: a tissue moves now much as it moved a timepoint ago.

The coherence rounds (:mod:`.coherence`) recover a smooth motion from a
first assignment, but that assignment is made with no motion at all (or
the flow's): where the tissue moves by more than about half the nuclei's
spacing in one step, most first links are wrong and the rounds start from
a field that is wrong too.  The step just linked already knows the motion:
each child of t starts from the **median residual** (parent − estimate) of
the links of the ``k`` nearest children of t−1 (the links just proposed and
those a human keeps), and the rounds correct from there.  Where nothing was
linked a step before (the first step, an empty timepoint) the start is
zero, as before.  The median ignores the daughters and a few wrong links;
a motion that changes from one step to the next is what the rounds correct.

A carried motion is noise where nuclei do not move together (a crowd of
cells that each wander): there it moved a few daughters to neighbours in
the ASTEC lineages and the crowded_dim detections.  So both starts link
once, and the rounds go on from the one whose links fit better
(:func:`misfit`, the global linker's objective): on every data set
measured, either start wins where it should (docs/linking.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from napari_elephant.core.linking.problem import FramePair

NEIGHBOURS = 9  # as many as vote in a coherence round


@dataclass(frozen=True)
class MotionSample:
    """Linked children of one step: where they are (µm) and how far their
    estimates missed their parents (parent − estimate, µm)."""

    t: int
    positions: np.ndarray
    residuals: np.ndarray


def motion_sample(t: int, pair: FramePair, links: list[tuple[int, int]]) -> MotionSample:
    """The residuals of the step t−1 → t: its proposed links (from the pair's own,
    uncorrected estimates) and the links a human keeps."""
    ends = pair.link_ends(links)
    residuals = pair.parent_centers[ends[:, 0]] - pair.estimates[ends[:, 1]]
    return MotionSample(
        t,
        np.vstack([pair.centers[ends[:, 1]], pair.kept_positions]),
        np.vstack([residuals, pair.kept_residuals]),
    )


def misfit(pair: FramePair, links: list[tuple[int, int]], reach: float) -> float:
    """How badly one-to-one ``links`` explain the pair: Σ min(|parent − estimate|²,
    reach²) over the linked children plus reach² for every child left alone."""
    ends = pair.link_ends(links)
    miss = pair.parent_centers[ends[:, 0]] - pair.estimates[ends[:, 1]]
    cap = reach**2
    alone = pair.n_children - len(ends)
    return float(np.minimum(np.sum(miss**2, axis=1), cap).sum() + cap * alone)


def carried_shift(
    sample: MotionSample | None, t: int, pair: FramePair, k: int = NEIGHBOURS
) -> np.ndarray | None:
    """(n_children, 3) µm: the median residual of the ``k`` children of t−1 linked
    nearest to each child of t; None without a sample of the step just before."""
    if sample is None or sample.t != t - 1 or not len(sample.positions) or not pair.n_children:
        return None
    return local_motion(sample, pair.centers, k)


def local_motion(sample: MotionSample, positions: np.ndarray, k: int = NEIGHBOURS) -> np.ndarray:
    """(n, 3) µm: at each position, the median residual of the ``k`` nearest linked
    children of the sample (zero without any)."""
    positions = np.asarray(positions, np.float64).reshape(-1, 3)
    if not len(sample.positions):
        return np.zeros_like(positions)
    k = min(k, len(sample.positions))
    _, near = cKDTree(sample.positions).query(positions, k=k)
    return np.median(sample.residuals[np.asarray(near).reshape(len(positions), k)], axis=1)
