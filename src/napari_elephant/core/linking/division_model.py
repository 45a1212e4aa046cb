"""What a division looks like in this workspace, learned from the user's decisions.

Positions alone leave a linker unsure which of two far children is a
daughter: the sibling step (:mod:`.coherence`) asks only that their
midpoint lie in the mother.  What else tells a division apart varies with
the data — how far daughters fly, how much smaller than their mother they
are, how alike (a false nucleus beside a cell is rarely her size) — so
it is learned per workspace from the divisions a user has checked:

- **positive**: a mother whose two child links are both accepted;
- **negative**: a child link a user rejected, paired with each lineage
  child the mother keeps (the daughter the linker had proposed with it);
  and, for each accepted division, every other nucleus within the
  daughters' separation of their midpoint paired with either daughter —
  the neighbours the user, by accepting two daughters, said are not hers.
  These are the candidates a linker must tell from the daughters, so a
  user who only accepts divisions teaches as well.

Each candidate is described by three numbers that do not depend on the
nuclei's size: how unlike the daughters are in size (|log r_a / r_b|),
their mean size against the mother's (log), and their separation in
mother radii (radii of the sphere of equal volume).  A logistic regression
on these and their squares, with a ridge penalty, the two classes weighted
equally, scores them; the sibling step leaves out a candidate that scores
below every division the user accepted (:func:`fit`'s floor).

A veto that only fits the examples costs true divisions elsewhere: an
ascidian embryo has unequal cleavages that a handful of accepted divisions
never shows.  So a model is made only once the user has accepted
:data:`MIN_EACH` divisions *and* refused a daughter (while every division
checked is right the linker needs no correcting), and kept only if, each
decision held out in turn, it would have caught most of the user's
refusals.  Measured in docs/linking.md (*Learned from the user*).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

from napari_elephant.core.ellipsoid import equal_volume_radius
from napari_elephant.core.graph import Status, TrackingGraph

FEATURES = ("size unlikeness", "size against the mother", "separation (mother radii)")
MIN_EACH = 3  # validated divisions (and negative examples) before a model is fit
MIN_REFUSED = 1  # daughters a user rejected: while every division checked is right, no model
RIDGE = 1.0  # penalty on the standardized weights: a few examples cannot make it extreme
COVERAGE = 0.99  # of the next validated division's score, predicted from the held-out ones
MAX_LEFT_OUT = 100  # decisions of each kind scored by a model fit without them
MAX_BYSTANDERS = 2000  # negative examples from accepted divisions' neighbourhoods, at most
_NEWTON_STEPS = 25


def features(
    r_mother: np.ndarray,
    a: np.ndarray,
    r_a: np.ndarray,
    b: np.ndarray,
    r_b: np.ndarray,
) -> np.ndarray:
    """(..., 3) the :data:`FEATURES` of candidate divisions: the mother's radius and
    the daughters' centres (..., 3) and radii (µm), broadcast against each other."""
    sep = np.linalg.norm(np.asarray(a) - np.asarray(b), axis=-1) / r_mother
    unlike = np.abs(np.log(r_a / r_b))
    size = np.log((r_a + r_b) / 2.0 / r_mother)
    return np.stack(np.broadcast_arrays(unlike, size, sep), axis=-1)


def _design(z: np.ndarray) -> np.ndarray:
    """Standardized features, their squares (a band such as "daughters half the
    mother's volume" is quadratic) and a constant."""
    return np.concatenate([z, z**2, np.ones((*z.shape[:-1], 1))], axis=-1)


@dataclass(frozen=True)
class DivisionModel:
    """A logistic score over the standardized :data:`FEATURES` and their squares, and
    the least score a candidate needs (``floor``, a log-odds)."""

    mean: np.ndarray
    scale: np.ndarray
    beta: np.ndarray
    floor: float
    n_positive: int
    n_negative: int

    def logit(self, x: np.ndarray) -> np.ndarray:
        """Log-odds of a true division for feature rows ``x`` (..., 3)."""
        z = (np.asarray(x, np.float64) - self.mean) / self.scale
        return _design(z) @ self.beta

    def probability(self, x: np.ndarray) -> np.ndarray:
        """P(true division) of feature rows ``x`` (..., 3), classes weighted equally."""
        return 1.0 / (1.0 + np.exp(-self.logit(x)))

    def plausible(self, x: np.ndarray) -> np.ndarray:
        """Candidates that score at least the floor."""
        return self.logit(x) >= self.floor


def _newton(d: np.ndarray, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Ridge-penalized logistic regression (the constant unpenalized)."""
    k = d.shape[1]
    ridge = RIDGE * np.eye(k)
    ridge[-1, -1] = 0.0
    beta = np.zeros(k)
    for _ in range(_NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-d @ beta))
        grad = d.T @ (weight * (p - y)) + ridge @ beta
        hess = (d * (weight * p * (1 - p))[:, None]).T @ d + ridge + 1e-9 * np.eye(k)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta


def _held_out(d: np.ndarray, y: np.ndarray, rows: range) -> list[float]:
    """The score of each of ``rows`` from a model fit without it (leave one out)."""
    out = []
    for i in rows:
        keep = np.arange(len(y)) != i
        n_pos = int(y[keep].sum())
        w = np.where(y[keep] == 1, 0.5 / n_pos, 0.5 / (len(y) - 1 - n_pos)) * (len(y) - 1)
        out.append(float(d[i] @ _newton(d[keep], y[keep], w)))
    return out


def fit(positive: np.ndarray, refused: np.ndarray, bystanders: np.ndarray) -> DivisionModel | None:
    """The model of validated divisions against refused daughters and bystanders;
    None with too few examples, or when it would not have caught the refusals.

    The floor is the lowest score a validated division gets from a model fit
    without it (leave one out), lowered to where the next validated division
    is expected to score (:data:`COVERAGE` of a Student-t prediction from those
    held-out scores), and never above even odds: a candidate is left out only
    when it looks less like a division than the user's own.  The model is
    kept only if, each one held out in turn, it would have left out most of
    the daughters the user refused: where the user's refusals look like
    divisions (features that do not tell them apart) it would only cost
    true divisions.
    """
    pos = np.asarray(positive).reshape(-1, 3)
    near = np.reshape(bystanders, (-1, 3))
    if len(near) > MAX_BYSTANDERS:  # an evenly spread share: a whole lineage fits in seconds
        near = near[np.linspace(0, len(near) - 1, MAX_BYSTANDERS).astype(int)]
    neg = np.vstack([np.reshape(refused, (-1, 3)), near])
    n_refused = len(np.reshape(refused, (-1, 3)))
    if len(pos) < MIN_EACH or len(neg) < MIN_EACH or n_refused < MIN_REFUSED:
        return None
    x = np.vstack([pos, neg])
    mean, scale = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
    d = _design((x - mean) / scale)
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    held = _held_out(d, y, range(min(len(pos), MAX_LEFT_OUT)))
    n = len(held)
    reach = student_t.ppf(COVERAGE, n - 1) * np.std(held, ddof=1) * np.sqrt(1 + 1 / n)
    floor = min(0.0, min(held), float(np.mean(held) - reach))
    tried = range(len(pos), len(pos) + min(n_refused, MAX_LEFT_OUT))
    caught = [s < floor for s in _held_out(d, y, tried)]
    if sum(caught) * 2 <= len(caught):
        return None
    weight = np.where(y == 1, 0.5 / len(pos), 0.5 / len(neg)) * len(x)
    return DivisionModel(mean, scale, _newton(d, y, weight), floor, len(pos), len(neg))


def examples(graph: TrackingGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature rows of the divisions a user validated, of the daughters the user
    refused, and of the bystanders of the validated divisions."""
    g = graph.nx_graph
    pos, refused, near = [], [], []
    for m in g.nodes:
        succ = g._succ[m]
        if not succ:
            continue
        kids = [c for c, d in succ.items() if d["status"] != Status.REJECTED]
        accepted = [c for c in kids if succ[c]["status"] == Status.ACCEPTED]
        if len(accepted) == 2:
            pos.append((m, *accepted))
            near += _bystanders(graph, m, *accepted)
        refused += [
            (m, f, c) for c, d in succ.items() if d["status"] == Status.REJECTED for f in kids
        ]
    return _rows(graph, pos), _rows(graph, refused), _rows(graph, near)


def _bystanders(graph: TrackingGraph, m: int, a: int, b: int) -> list[tuple[int, int, int]]:
    """(mother, daughter, neighbour) for the nuclei near an accepted division's
    daughters that are neither of them."""
    da, db = graph.nucleus(a), graph.nucleus(b)
    mid = (np.asarray(da.center) + np.asarray(db.center)) / 2
    reach = float(np.linalg.norm(np.subtract(da.center, db.center)))
    near = [int(c) for c in graph.within(da.t, mid, reach) if int(c) not in (a, b)]
    near = [c for c in near if graph.nucleus(c).status != Status.REJECTED]
    return [(m, d, c) for c in near for d in (a, b)]


def _rows(graph: TrackingGraph, triples: list[tuple[int, int, int]]) -> np.ndarray:
    """Feature rows of (mother, a, b) id triples."""
    if not triples:
        return np.empty((0, 3))
    ids = np.array(triples, dtype=np.int64)
    nuclei = [graph.nucleus(int(i)) for i in ids.ravel()]
    centers = np.array([n.center for n in nuclei], np.float64).reshape(-1, 3, 3)
    radii = equal_volume_radius(np.array([n.cov for n in nuclei], np.float64)).reshape(-1, 3)
    return features(radii[:, 0], centers[:, 1], radii[:, 1], centers[:, 2], radii[:, 2])


def learn(graph: TrackingGraph) -> DivisionModel | None:
    """The workspace's division model, or None until the user's decisions make one
    that would have caught the user's refusals (:func:`fit`)."""
    return fit(*examples(graph))
