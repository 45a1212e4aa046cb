"""Motion coherence: neighbouring nuclei move alike, so a linker's links correct its estimates.

A motion model (the flow, or none) gives each child an estimated position at
t−1; where the estimate is off by more than about half the spacing of the
nuclei, the linker picks a neighbour's parent.  But the error of an
estimate is shared by the nuclei around it (a tissue moves as a whole; a
flow model that learned part of the motion misses the same part
everywhere nearby).  So after a first assignment, each child's estimate is
moved by the **median residual** (parent centre − estimate) of the links of
its ``k`` nearest children, and the pair is linked again; the median
ignores the few wrong links and the daughters, whose residuals point away
from the tissue's motion.  Rounds stop when the links repeat.

Without any motion model this recovers a smooth motion field from the links
alone; with the flow it corrects the flow's smooth errors and keeps what the
flow knows per nucleus (a daughter's estimate still points at its mother).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from napari_elephant.core.linking.carried import misfit
from napari_elephant.core.linking.division_model import features
from napari_elephant.core.linking.problem import FramePair
from napari_elephant.core.params import LinkingParams

Linker = Callable[[FramePair, LinkingParams], list[tuple[int, int]]]

# links whose residuals vote for a child's correction; with 6, a few daughters near one
# another outvoted the tissue's motion (fast_motion development seeds 0 and 101)
NEIGHBOURS = 9
# the share of a pair's one-to-one links whose miss (parent − estimate) the mother's
# ellipsoid is widened by before her daughters' midpoint must fall inside it: nearly all
MISS_QUANTILE = 0.9


def consensus_shift(
    pair: FramePair, links: list[tuple[int, int]], k: int = NEIGHBOURS
) -> np.ndarray:
    """(n_children, 3) µm: per axis, the median residual of the k nearest linked children."""
    if not links:
        return np.zeros_like(pair.estimates)
    parents, children = pair.link_ends(links).T
    residual = pair.parent_centers[parents] - pair.estimates[children]
    k = min(k, len(children))
    _, near = cKDTree(pair.centers[children]).query(pair.centers, k=k)
    near = np.asarray(near).reshape(pair.n_children, k)
    return np.median(residual[near], axis=1)


def shifted(pair: FramePair, shift: np.ndarray) -> FramePair:
    """The pair with every estimate moved by ``shift`` (the motion lengths follow)."""
    estimates = pair.estimates + shift
    motion = np.linalg.norm(estimates - pair.centers, axis=1)
    return replace(pair, estimates=estimates, displacements=motion)


def coherent_link(
    linker: Linker, pair: FramePair, params: LinkingParams, rounds: int
) -> list[tuple[int, int]]:
    """``linker`` alone (rounds = 0), or coherence rounds and then sibling divisions.

    The rounds link one to one: a daughter is flung away from the tissue's
    motion, so a distance rule would give her to a neighbour's parent as a
    second child.  Divisions come afterwards, from the pair's symmetry
    (:func:`sibling_divisions`).
    """
    return coherent_plan(linker, pair, params, rounds)[0]


def coherent_plan(
    linker: Linker,
    pair: FramePair,
    params: LinkingParams,
    rounds: int,
    start: np.ndarray | None = None,
) -> tuple[list[tuple[int, int]], FramePair]:
    """:func:`coherent_link`'s links and the pair as it linked them last (its
    estimates corrected by the rounds), which the links' confidences are read from.
    ``start``: a first correction of the estimates (the motion carried from the
    step before, :mod:`.carried`); the rounds correct from it when the first
    links it gives fit better than those without it (:func:`.carried.misfit`)."""
    if rounds <= 0:
        return linker(pair, params), pair
    single = params.model_copy(update={"division_cost": 1e9, "d_disp": np.inf, "d_dist": 0.0})
    links = linker(pair, single)
    if start is not None:  # the carried motion, where its first links fit better
        moved = shifted(pair, start)
        carried = linker(moved, single)
        if misfit(moved, carried, params.d_search) < misfit(pair, links, params.d_search):
            pair, links = moved, carried
    current = pair
    seen = {frozenset(links)}
    for _ in range(rounds):
        current = shifted(pair, consensus_shift(pair, links))
        links = linker(current, single)
        if frozenset(links) in seen:
            break
        seen.add(frozenset(links))
    return links + sibling_divisions(current, links, params), current


def sibling_divisions(
    pair: FramePair, links: list[tuple[int, int]], params: LinkingParams
) -> list[tuple[int, int]]:
    """Second children for one-child parents, judged by the daughters' midpoint.

    Daughters leave their mother in opposite directions, so the midpoint of
    their estimates lies at the mother even when each is far from her.  A
    child left without a parent joins a parent with one proposed child
    when that costs less than starting a track (one assignment, midpoints
    within ``d_search`` of the parent).  The cost is what the division
    changes in the global linker's objective: the pair's |midpoint −
    parent|² replaces the first child's own |estimate − parent|², plus the
    division cost.  So a mother whose first child sits far from her (as a
    daughter does) wins over a neighbour whose child is where it should be,
    even when the neighbour's midpoint happens to lie a little nearer.

    The midpoint must also fall inside the mother (:func:`straddles`): a
    nucleus that starts a track a few radii from a mother whose own child
    sits on her is not her daughter, however cheap the division looks
    against a start.
    """
    row = {int(c): i for i, c in enumerate(pair.child_ids.tolist())}
    linked = {row[c] for _, c in links}
    spare = pair.bridgeable
    left = [i for i in range(pair.n_children) if i not in linked]
    left = np.array([i for i in left if int(pair.child_ids[i]) not in spare], dtype=np.int64)
    firsts = _first_children(pair, links)
    if not len(left) or not firsts:
        return []
    parents = np.array([i for i, _, _ in firsts])
    first = np.array([e for _, e, _ in firsts], dtype=np.float64).reshape(-1, 3)
    mid = (pair.estimates[left][:, None, :] + first[None]) / 2
    d2 = np.sum((mid - pair.parent_centers[parents][None]) ** 2, axis=2)
    alone = np.sum((first - pair.parent_centers[parents]) ** 2, axis=1)  # the first child's cost
    scale = params.d_search**2
    cost = np.where(d2 <= scale, d2 - alone[None] + params.division_cost * scale, np.inf)
    cost = np.where(straddles(pair, links, parents, mid), cost, np.inf)
    cost = np.where(learned(pair, parents, first, [r for _, _, r in firsts], left), cost, np.inf)
    cost = _allowed(pair, cost, left, parents)
    full = np.hstack([cost, np.full((len(left), len(left)), np.inf)])
    full[np.arange(len(left)), len(parents) + np.arange(len(left))] = params.start_cost * scale
    r, c = linear_sum_assignment(full)
    hit = c < len(parents)
    return [
        (int(pair.parent_ids[parents[j]]), int(pair.child_ids[left[i]]))
        for i, j in zip(r[hit], c[hit], strict=True)
    ]


def _first_children(
    pair: FramePair, links: list[tuple[int, int]]
) -> list[tuple[int, np.ndarray, float]]:
    """(parent index, first child's estimate, its radius or nan) of every parent that
    may take a second child: one proposed child and no kept one, or one kept child (a
    link a human made is as good a first daughter as a proposed one) and nothing
    proposed."""
    row = {int(c): i for i, c in enumerate(pair.child_ids.tolist())}
    col = {int(p): i for i, p in enumerate(pair.parent_ids.tolist())}
    radii = pair.child_radii
    out = [
        (col[p], pair.estimates[row[c]], np.nan if radii is None else float(radii[row[c]]))
        for p, c in links
    ]
    out = [f for f in out if pair.capacity[f[0]] >= 2 and f[0] not in pair.kept]
    taken = {col[p] for p, _ in links}
    kept = [
        (i, np.asarray(e), pair.kept_radii.get(i, np.nan))
        for i, e in pair.kept_estimates.items()
        if pair.capacity[i] >= 1 and i not in taken
    ]
    return out + kept


def learned(
    pair: FramePair,
    parents: np.ndarray,
    first: np.ndarray,
    first_radii: list[float],
    left: np.ndarray,
) -> np.ndarray:
    """(n_left, n_parents) mask: the workspace's division model finds the candidate
    (mother, first child, left child) at least as likely true as false
    (:mod:`.division_model`; everything passes without a model)."""
    model = pair.division_model
    if model is None or pair.child_radii is None or pair.parent_radii is None:
        return np.ones((len(left), len(parents)), dtype=bool)
    x = features(
        pair.parent_radii[parents][None],
        first[None],
        np.asarray(first_radii, np.float64)[None],
        pair.estimates[left][:, None],
        pair.child_radii[left][:, None],
    )
    return model.plausible(x)


def straddles(
    pair: FramePair, links: list[tuple[int, int]], parents: np.ndarray, mid: np.ndarray
) -> np.ndarray:
    """(n_left, n_parents) mask: the daughters' midpoint ``mid`` lies inside the mother.

    Daughters leave in opposite directions, so their midpoint stays in her
    (the ASTEC lineages: within 0.8 of a radius; HeLa's silver truth 1.0).
    Her ellipsoid is widened by how far this pair's motion estimates miss
    their parents (:data:`MISS_QUANTILE` of the links), since the midpoint
    is taken between estimates.  Without ``parent_covs`` nothing is excluded.
    """
    if pair.parent_covs is None:
        return np.ones(mid.shape[:2], dtype=bool)
    return midpoint_depth(pair, links, parents, mid) <= 1.0


def midpoint_depth(
    pair: FramePair, links: list[tuple[int, int]], parents: np.ndarray, mid: np.ndarray
) -> np.ndarray:
    """(n_left, n_parents) squared Mahalanobis distance of each midpoint from each
    mother in her widened ellipsoid (0 at her centre, 1 on her rim)."""
    reach = np.linalg.inv(widened_covs(pair, parents, estimate_miss(pair, links)))
    off = mid - pair.parent_centers[parents][None]
    return np.einsum("lpi,pij,lpj->lp", off, reach, off)


def estimate_miss(pair: FramePair, links: list[tuple[int, int]]) -> float:
    """How far the pair's motion estimates miss their parents: the
    :data:`MISS_QUANTILE` of ``|parent − estimate|`` over ``links`` (0 without)."""
    row = {int(c): i for i, c in enumerate(pair.child_ids.tolist())}
    col = {int(p): i for i, p in enumerate(pair.parent_ids.tolist())}
    ends = [(col[p], row[c]) for p, c in links if c in row and p in col]
    ends = np.array(ends, dtype=np.int64).reshape(-1, 2)
    misses = np.linalg.norm(pair.parent_centers[ends[:, 0]] - pair.estimates[ends[:, 1]], axis=1)
    return float(np.quantile(misses, MISS_QUANTILE)) if len(misses) else 0.0


def widened_covs(pair: FramePair, parents: np.ndarray, miss: float) -> np.ndarray:
    """(n, 3, 3) the mothers' ellipsoids widened by the estimates' miss."""
    return pair.parent_covs[parents] + miss**2 * np.eye(3)


def _allowed(pair: FramePair, cost: np.ndarray, left: np.ndarray, parents: np.ndarray):
    """The cost matrix with the pairs a human rejected set to infinity."""
    if pair.forbidden:
        rows, cols = np.meshgrid(left, parents, indexing="ij")
        ok = pair.allowed_pairs(rows.ravel(), cols.ravel()).reshape(cost.shape)
        cost = np.where(ok, cost, np.inf)
    return cost
