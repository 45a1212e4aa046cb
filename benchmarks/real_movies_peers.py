"""The peers of benchmarks/real_movies.py: a truth-tuned LoG detector and LoG + laptrack.

Both are given every advantage a user could ever find by trial and error on
the silver truth itself: the LoG's radius is the truth's median radius and
its median filter, intensity scaling and quality threshold are swept for the
best detection F1; laptrack's cutoff, splitting cutoff and gap closing are
swept for the best TRA.  The default ELEPHANT pipeline gets none of that.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from linking_accuracy import D_SEARCH, SPLIT  # benchmarks/ holds scripts, not a package
from log_detector import Candidates, best_threshold, log_candidates
from napari_elephant.core.graph import Link, Nucleus, Status, TrackingGraph, sphere_cov
from napari_elephant.core.metrics import Evaluation, Scores, evaluate
from napari_elephant.core.units import VoxelSize

GAPS = (None, 2)  # laptrack gap closing: off, or over one missing frame (2 frames apart)
Volume = Callable[[int], np.ndarray]  # t -> raw (Z, Y, X) grey levels


@dataclass
class PeerResult:
    """One peer at its best setting."""

    graph: TrackingGraph
    setting: str
    seconds: float  # the whole sweep
    scores: Scores | None = None  # the detection F1 the setting was chosen on


# ------------------------------------------------------------------ radius
def in_plane_radius(n: Nucleus) -> float:
    """Radius of the disc of the nucleus' y-x area: what a user measures in the viewer.
    The ball of equal volume would shrink with the z extent, which is a token 0.5 µm
    in a 2D movie's truth and cut by the 5 µm tall stack of CHO."""
    return float(np.linalg.det(n.cov_matrix[1:, 1:]) ** 0.25)


def median_radius(truth: TrackingGraph) -> float:
    """The truth's median in-plane nucleus radius (µm): the radius a user would type in."""
    return float(np.median([in_plane_radius(n) for n in truth.nuclei()]))


# --------------------------------------------------------------------- LoG
def detections_graph(
    per_t: dict[int, Candidates], threshold: float, radius: float
) -> TrackingGraph:
    """The spots of quality >= threshold as predicted spheres of ``radius``."""
    nuclei, nid = [], 1
    for t, (centers, quality) in sorted(per_t.items()):
        for c in centers[quality >= threshold]:
            center = tuple(float(v) for v in c)
            nuclei.append(Nucleus(nid, t, center, sphere_cov(radius), Status.PREDICTED))
            nid += 1
    return TrackingGraph.from_records(nuclei, [])


def tuned_log(
    volume: Volume, tps: Sequence[int], voxel: VoxelSize, truth: TrackingGraph, dmax: float
) -> PeerResult:
    """TrackMate's LoG at the truth's median (in-plane) radius; median filter, intensity scaling
    (raw, or per-timepoint min-max as the network sees it) and threshold tuned on
    the truth for the best detection F1."""
    start = time.perf_counter()
    radius = median_radius(truth)
    best: tuple | None = None
    for median in (False, True):
        raw = {}
        spans = {}
        for t in tps:
            v = volume(t)
            raw[t], spans[t] = log_candidates(v, voxel, radius, median), float(np.ptp(v)) or 1.0
        scaled = {t: (c, q / spans[t]) for t, (c, q) in raw.items()}
        for scaling, cands in (("raw", raw), ("per-timepoint", scaled)):
            th, s = best_threshold(cands, truth, dmax)
            if best is None or s.f1 > best[0].f1:
                best = (s, th, cands, f"radius {radius:.2f} µm, median {median}, {scaling}")
    s, th, cands, setting = best
    graph = detections_graph(cands, th, radius)
    return PeerResult(graph, f"{setting}, threshold {th:.4g}", time.perf_counter() - start, s)


# ---------------------------------------------------------------- laptrack
def laptrack_links(
    graph: TrackingGraph, cutoff: float, split: float | None, gap: int | None
) -> TrackingGraph:
    """laptrack's links (µm; its costs are squared distances) on ``graph``'s nuclei."""
    from laptrack import LapTrack  # optional: pip install napari-elephant[bench]

    ts = range(max(graph.timepoints()) + 1)
    ids = [graph.centers_at(t)[0] for t in ts]
    tracker = LapTrack(
        cutoff=cutoff**2,
        splitting_cutoff=False if split is None else split**2,
        gap_closing_cutoff=False if gap is None else cutoff**2,
        gap_closing_max_frame_count=gap or 2,
    )
    tree = tracker.predict([graph.centers_at(t)[1].reshape(-1, 3) for t in ts])
    links = sorted({(int(ids[a[0]][a[1]]), int(ids[b[0]][b[1]])) for a, b in tree.edges()})
    new = [Link(p, c, Status.PREDICTED) for p, c in links]
    return TrackingGraph.from_records(list(graph.nuclei()), new)


def tuned_laptrack(
    detections: TrackingGraph, truth: TrackingGraph, tps: Sequence[int], dmax: float
) -> PeerResult:
    """laptrack on the LoG's spots: cutoff, splitting and gap closing swept for the
    best TRA over every scored timepoint (as benchmarks/linking_accuracy.py does)."""
    start = time.perf_counter()
    best: tuple[float, TrackingGraph, str] | None = None
    for cutoff, split, gap in itertools.product(D_SEARCH, SPLIT, GAPS):
        graph = laptrack_links(detections, cutoff, split, gap)
        tra = evaluate(graph, truth, dmax, tps).tra
        if best is None or tra > best[0]:
            setting = f"cutoff {cutoff:g} µm, split {split or 'off'}, gap {gap or 'off'}"
            best = (tra, graph, setting)
    return PeerResult(best[1], best[2], time.perf_counter() - start)


def scored(
    graph: TrackingGraph, truth: TrackingGraph, tps: Sequence[int], dmax: float
) -> dict[str, Evaluation]:
    """Every timepoint, and t >= 1 only (t = 0 holds the clicked nuclei)."""
    later = [t for t in tps if t >= 1]
    return {"all": evaluate(graph, truth, dmax, tps), "t>=1": evaluate(graph, truth, dmax, later)}
