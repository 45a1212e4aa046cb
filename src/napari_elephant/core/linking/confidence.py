"""How sure the linker is of each link it proposes, for "next to check".

A link is doubtful when another choice was nearly as good.  For a link
parent → child at distance d (the child's estimate at t−1 to the parent),
the nearest alternative is the nearest *other* parent of that child or the
nearest *other* child of that parent (a daughter's sister does not count),
at distance a; the confidence is 1 − (d / a)², 1 when nothing else lies
within reach and 0 when an alternative is as near.  Distances are taken
between the estimates the linker used last (after the coherence rounds).

A daughter is another matter: she flies from her mother, often nearer a
neighbour than her mother, so that ratio calls every far-flung division
doubtful and the false ones sure (fast_motion: a false division was looked
at before a true one a third of the time or less).  Both daughters of a
division carry instead the lower of how squarely they straddle their
mother, 1 − m² (m the Mahalanobis distance of their midpoint in her widened
ellipsoid, :func:`~napari_elephant.core.linking.coherence.straddles`; 1 at
her centre, 0 on her rim), and how alike they are in size, exp(−(s / σ)²)
(s = |log r_a / r_b|, σ the 90th percentile of |log r_child / r_parent|
over the pair's one-to-one links: how much a nucleus' size varies from one
timepoint to the next).  A false nucleus beside a cell is rarely her
sister's size.  Measured in docs/linking.md (*Confidence*).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from scipy.spatial import cKDTree

from napari_elephant.core.linking.coherence import estimate_miss, widened_covs
from napari_elephant.core.linking.frames import Key
from napari_elephant.core.linking.problem import FramePair

NEIGHBOURS = 3  # alternatives looked at per side: the link's own end and two others
SIZE_QUANTILE = 0.9  # of the size change along one-to-one links: a nucleus' own variation
MIN_SIZE_LINKS = 5  # one-to-one links before the daughters' sizes are judged


def link_confidences(pair: FramePair, links: list[Key], lone: bool = False) -> dict[Key, float]:
    """Confidence in [0, 1] of each proposed link of one pair.  ``lone``: each link
    judged as its parent's only child (a daughter whose sister was let go later)."""
    if not links:
        return {}
    ends = pair.link_ends(links)
    kids: dict[int, list[int]] = defaultdict(list)
    for i, j in ends.tolist():
        kids[i].append(j)
    own = np.full((len(ends), 2), -1, dtype=np.int64)
    for n, (i, j) in enumerate(ends.tolist()):
        mine = [j] if lone else kids[i][:2]
        own[n, : len(mine)] = mine
    d = np.linalg.norm(pair.estimates[ends[:, 1]] - pair.parent_centers[ends[:, 0]], axis=1)
    alt = np.minimum(_other_parent(pair, ends), _other_child(pair, ends, own))
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(np.isfinite(alt), 1.0 - (d / np.maximum(alt, 1e-9)) ** 2, 1.0)
    q = np.clip(q, 0.0, 1.0)
    if not lone:
        daughter = np.array([len(kids[i]) == 2 for i in ends[:, 0].tolist()], dtype=bool)
        q = np.where(daughter, _divisions(pair, links, ends, kids), q)
    return {(int(p), int(c)): float(v) for (p, c), v in zip(links, q.tolist(), strict=True)}


def _other_parent(pair: FramePair, ends: np.ndarray) -> np.ndarray:
    """Per link: distance from the child's estimate to the nearest parent but its own."""
    k = min(2, pair.n_parents)
    dist, idx = cKDTree(pair.parent_centers).query(pair.estimates[ends[:, 1]], k=k)
    dist, idx = dist.reshape(len(ends), k), idx.reshape(len(ends), k)
    dist = np.where(idx == ends[:, :1], np.inf, dist)
    return dist.min(axis=1)


def _other_child(pair: FramePair, ends: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Per link: distance from the parent to the nearest child estimate not among its
    own children (``own``: (n_links, 2) child indices, −1 for none)."""
    k = min(NEIGHBOURS, pair.n_children)
    dist, idx = cKDTree(pair.estimates).query(pair.parent_centers[ends[:, 0]], k=k)
    dist, idx = dist.reshape(len(ends), k), idx.reshape(len(ends), k)
    mine = (idx[:, :, None] == own[:, None, :]).any(axis=2)
    return np.where(mine, np.inf, dist).min(axis=1)


def _divisions(
    pair: FramePair, links: list[Key], ends: np.ndarray, kids: dict[int, list[int]]
) -> np.ndarray:
    """Per link: the lower of 1 − m² (its division's midpoint in the mother) and the
    daughters' likeness in size; 1 for a one-child link (and without ellipsoids or
    radii, the missing term)."""
    out = np.ones(len(ends))
    mothers = np.array([i for i, k in kids.items() if len(k) == 2], dtype=np.int64)
    if not len(mothers):
        return out
    single = [lk for lk, (i, _) in zip(links, ends.tolist(), strict=True) if len(kids[i]) == 1]
    sure = _likeness(pair, single, np.array([kids[i] for i in mothers.tolist()]))
    if pair.parent_covs is not None:
        reach = np.linalg.inv(widened_covs(pair, mothers, estimate_miss(pair, single)))
        mid = np.array([pair.estimates[kids[i]].mean(axis=0) for i in mothers.tolist()])
        off = mid - pair.parent_centers[mothers]
        sure = np.minimum(sure, np.clip(1.0 - np.einsum("pi,pij,pj->p", off, reach, off), 0, 1))
    by_mother = dict(zip(mothers.tolist(), sure.tolist(), strict=True))
    for n, i in enumerate(ends[:, 0].tolist()):
        out[n] = by_mother.get(i, 1.0)
    return out


def _likeness(pair: FramePair, single: list[Key], daughters: np.ndarray) -> np.ndarray:
    """(n_divisions,) exp(−(s / σ)²) of each pair of daughters (child indices): s their
    size unlikeness, σ how much sizes vary along this pair's one-to-one links."""
    if pair.child_radii is None or pair.parent_radii is None or len(single) < MIN_SIZE_LINKS:
        return np.ones(len(daughters))
    ends = pair.link_ends(single)
    drift = np.abs(np.log(pair.child_radii[ends[:, 1]] / pair.parent_radii[ends[:, 0]]))
    sigma = max(float(np.quantile(drift, SIZE_QUANTILE)), 1e-3)
    r = pair.child_radii[daughters]
    return np.exp(-((np.log(r[:, 0] / r[:, 1]) / sigma) ** 2))
