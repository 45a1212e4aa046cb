"""The Cell Tracking Challenge's DET and TRA, computed on tracking graphs.

Both come from the AOGM (acyclic oriented graph matching, Matula et al. 2015):
the weighted number of edits that turn the result graph into the truth graph.
Vertex edits: split a vertex that matched several truth nuclei (NS, weight 5),
add a missed truth nucleus (FN, 10), delete a spurious one (FP, 1).  Edge
edits, counted on the links between matched nuclei only (deleting a spurious
vertex takes its links with it for free): delete a link the truth lacks (ED,
1), add a truth link the result lacks (EA, 1.5), fix a link's semantics (EC, 1)
when it is a "continuation" in one graph and a "parent link" in the other.

The CTC format keeps a cell that neither divides nor disappears under one track
label; a division or a gap starts new tracks whose parent is the old one, so
the links there are parent links.  :meth:`Lineage.is_continuation` says which.
Matched nuclei share their timepoints, so two matched links always span the
same frames: a semantics error is a link whose parent has two children in
one graph and one in the other.

Our matching is one-to-one by centre distance (the CTC's is by mask overlap),
so NS is always 0 here.  The CTC normalises by the cost of building the truth
from an empty result (every truth nucleus added, every truth link added):
``DET = 1 - min(AOGM_D, AOGM_D0) / AOGM_D0`` with ``AOGM_D0 = 10 · nuclei`` and
``TRA = 1 - min(AOGM, AOGM_0) / AOGM_0`` with ``AOGM_0 = 10 · nuclei + 1.5 · links``.
"""

from __future__ import annotations

from dataclasses import dataclass

from napari_elephant.core.track_matching import Lineage

W_NS, W_FN, W_FP = 5.0, 10.0, 1.0
W_ED, W_EA, W_EC = 1.0, 1.5, 1.0


@dataclass(frozen=True)
class Aogm:
    """Counts of the graph edits and the DET / TRA they give."""

    fn: int
    fp: int
    ed: int
    ea: int
    ec: int
    n_vertices: int  # nuclei of the truth
    n_edges: int  # links of the truth
    ns: int = 0

    @property
    def aogm_d(self) -> float:
        return W_NS * self.ns + W_FN * self.fn + W_FP * self.fp

    @property
    def aogm_d0(self) -> float:
        return W_FN * self.n_vertices

    @property
    def aogm(self) -> float:
        return self.aogm_d + W_ED * self.ed + W_EA * self.ea + W_EC * self.ec

    @property
    def aogm_0(self) -> float:
        return W_FN * self.n_vertices + W_EA * self.n_edges

    @property
    def det(self) -> float:
        return normalised(self.aogm_d, self.aogm_d0)

    @property
    def tra(self) -> float:
        return normalised(self.aogm, self.aogm_0)

    def as_dict(self) -> dict[str, float]:
        return {
            "DET": self.det,
            "TRA": self.tra,
            "AOGM": self.aogm,
            "AOGM_0": self.aogm_0,
            "AOGM_D": self.aogm_d,
            "AOGM_D0": self.aogm_d0,
            "NS": self.ns,
            "FN": self.fn,
            "FP": self.fp,
            "ED": self.ed,
            "EA": self.ea,
            "EC": self.ec,
            "truth_nuclei": self.n_vertices,
            "truth_links": self.n_edges,
        }


def normalised(cost: float, empty_cost: float) -> float:
    """``1 - min(cost, empty) / empty``; an empty truth scores 1 only against an empty result."""
    if empty_cost == 0:
        return 1.0 if cost == 0 else 0.0
    return 1.0 - min(cost, empty_cost) / empty_cost


def aogm(result: Lineage, truth: Lineage, matching: dict[int, int]) -> Aogm:
    """The AOGM edit counts of ``result`` against ``truth`` under a one-to-one matching."""
    truth_links = {key: truth.is_continuation(*key) for key in truth.links()}
    deleted = wrong_semantics = found = 0
    for p, c in result.links():
        if p not in matching or c not in matching:
            continue  # goes with its false-positive end
        key = (matching[p], matching[c])
        if key not in truth_links:
            deleted += 1
            continue
        found += 1
        wrong_semantics += truth_links[key] != result.is_continuation(p, c)
    tp = len(matching)
    return Aogm(
        fn=truth.n_nuclei - tp,
        fp=result.n_nuclei - tp,
        ed=deleted,
        ea=len(truth_links) - found,
        ec=wrong_semantics,
        n_vertices=truth.n_nuclei,
        n_edges=len(truth_links),
    )
