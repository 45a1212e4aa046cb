"""Linking of given nuclei on two real hand-curated lineages: the defaults against laptrack
and motile, in the same run.

The ASTEC lineages of /work/shared/data/real/README.md (Pm05, Pm08: positions,
ellipsoids and links, no image) are imported without their links: every nucleus
as the file has it (accepted), no ``parent_id``, which is what a user who imports
positions gets (nuclei not yet linked; accepted links would be kept as constraints,
``core/linking/frames.py``, and there are none).  Then, on the same nuclei:

1. "ELEPHANT defaults": the core call of ``napari-elephant link WORKSPACE`` with no
   flag, ``link_round`` with a new workspace's ``LinkingParams()`` (nearest
   neighbour, 3 coherence rounds, auto distances; nothing tuned), and, for
   information, the paper's rules (nearest neighbour, no coherence rounds);
2. laptrack (TrackMate's LAP linker in Python) with splitting on: cutoff and
   splitting cutoff swept over multiples of the median nearest-neighbour distance
   between nuclei of one timepoint, gap closing off (the truth has no gaps); the
   best link F1 + division F1 is kept: tuned on the truth;
3. motile (the ILP tracker, SCIP through ilpy) on the first ``--window``
   timepoints: every nucleus pinned as selected, candidate links to the 4 nearest
   nuclei of t-1, costs = link distance (``EdgeSelectedCost`` on the distance, on
   every selected link, daughters included), a constant per track start
   (``NodeAppearCost``, which with no end cost acts as the link cutoff) and per
   division (``NodeSplitCost``), ``MaxParents(1)``, ``MaxChildren(2)``; appear and
   division costs swept, the best kept: tuned on the truth.  The defaults and
   laptrack are scored on the same window too.

Scores (``core.metrics.evaluate``): result and truth hold the same positions, so
nuclei are matched within 0.1 µm (the closest two nuclei of a timepoint are
5.9 µm apart): link P / R / F1, division P / R / F1, divisions in truth and result.
Seconds: one linking run (for the peers: the run at the kept setting, motile's
with building its model; each sweep's total is ``sweep_s`` in the JSON).  After
the table, what the default linker does at the truth's divisions.

motile 1.0's ``EdgeDistanceCost`` prices continuation links only, through
AND-linearised variables whose weak LP relaxation kept SCIP from finishing 40
timepoints of Pm05 (3.4k nuclei) in 10 minutes; the same distance on
``EdgeSelected`` solves 60 timepoints in ~15 s and the whole of Pm05 in ~45 s
(``--window 0``; 1 thread).  The default window of 60 keeps the run near 4 min.

    cd benchmarks && OMP_NUM_THREADS=1 ../.venv/bin/python lineage_linking.py
        [--lineages pm05,pm08] [--data DIR] [--window N] [--no-motile] [--json PATH]

laptrack and motile are optional bench extras (``pip install laptrack motile``),
imported only here.  Real data: measure with it, never tune a default on it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from scipy.spatial import cKDTree

from detection_speed import machine_lines  # benchmarks/ holds scripts, not a package
from napari_elephant.core.ellipsoid import lateral_radius, median_lateral_radius
from napari_elephant.core.graph import Link, Status, TrackingGraph
from napari_elephant.core.io.csv_io import load_csv
from napari_elephant.core.linking import link_round
from napari_elephant.core.linking.sizes import median_spacing, resolve_linking
from napari_elephant.core.metrics import Evaluation, evaluate
from napari_elephant.core.params import LinkingParams, ParameterSets
from napari_elephant.core.training.progress import drain
from real_movies import divisions
from real_movies_peers import laptrack_links

if TYPE_CHECKING:
    import motile

DATA = Path("/work/shared/data/real")
LINEAGES = {"pm05": "astec_Pm05_lineage.csv", "pm08": "astec_Pm08_lineage.csv"}
DMAX = 0.1  # µm: same positions on both sides
WINDOW = 60  # motile: the first timepoints (about 6.5k and 8k nuclei)
LAP_CUTOFFS = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0)  # × median nearest-neighbour distance
LAP_SPLITS = (0.5, 0.75, 1.0, 1.5)  # splitting cutoff, same unit
MOTILE_APPEAR = (0.75, 1.0, 1.5)  # track start cost (µm of link distance), × NN distance
MOTILE_DIVISION = (0.0, 0.5)  # division cost, same unit
MOTILE_NEIGHBOURS = 4  # candidate parents per nucleus
MOTILE_TIMEOUT = 300.0  # s per solve; the best solution so far is used past it


@dataclass
class Row:
    """One method on one lineage, scored on one range of timepoints."""

    lineage: str
    method: str
    setting: str
    scope: str
    scores: Evaluation | None
    seconds: float | None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    """A linked graph, how long it took and with what."""

    graph: TrackingGraph
    seconds: float
    setting: str
    extra: dict[str, Any] = field(default_factory=dict)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lineages", default="pm05,pm08", help="comma-separated: pm05, pm08")
    ap.add_argument("--data", type=Path, default=DATA, help="folder of the lineage CSVs")
    ap.add_argument(
        "--window", type=int, default=WINDOW, help="motile: the first N timepoints (0: all)"
    )
    ap.add_argument("--no-motile", action="store_true", help="skip motile")
    ap.add_argument("--json", type=Path, help="write every row here")
    return ap.parse_args(argv)


# ------------------------------------------------------------------ setup
def unlinked(truth: TrackingGraph) -> TrackingGraph:
    """The truth's nuclei as the file has them (accepted), without any link."""
    return TrackingGraph.from_records(list(truth.nuclei()), [])


def link_score(ev: Evaluation) -> float:
    """What the peers are tuned on."""
    return ev.links.f1 + ev.divisions.f1


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


# --------------------------------------------------------------- ELEPHANT
def elephant(truth: TrackingGraph, paper: bool = False) -> Run:
    """What ``napari-elephant link`` does with a new workspace's parameters, or
    (``paper``) the paper's rules: nearest neighbour, no coherence rounds."""
    params = ParameterSets().linking
    if paper:
        params = params.model_copy(update={"method": "nn", "coherence_rounds": 0})
    graph = unlinked(truth)
    start = time.perf_counter()
    drain(link_round(graph, params, None, None, params.method))
    seconds = time.perf_counter() - start
    resolved = resolve_linking(params, graph.nuclei())
    setting = (
        f"method {params.method}, coherence {params.coherence_rounds}: d_search "
        f"{resolved.d_search:.1f}, d_disp = d_dist {resolved.d_disp:.1f} µm (auto)"
    )
    return Run(graph, seconds, setting)


# ---------------------------------------------------------------- laptrack
def tuned_laptrack(truth: TrackingGraph, nn: float) -> Run:
    """laptrack with splitting; cutoffs swept, best link F1 + division F1 kept."""
    nuclei = unlinked(truth)
    best: tuple[float, Run] | None = None
    total = time.perf_counter()
    for cut, split in itertools.product(LAP_CUTOFFS, LAP_SPLITS):
        start = time.perf_counter()
        graph = laptrack_links(nuclei, cut * nn, split * nn, None)
        seconds = time.perf_counter() - start
        score = link_score(evaluate(graph, truth, DMAX))
        if best is None or score > best[0]:
            setting = f"cutoff {cut * nn:.1f}, split {split * nn:.1f} µm, gap off"
            best = (score, Run(graph, seconds, setting))
    run = best[1]
    run.extra["sweep_s"] = time.perf_counter() - total
    run.extra["settings_tried"] = len(LAP_CUTOFFS) * len(LAP_SPLITS)
    return run


# ------------------------------------------------------------------ motile
def candidate_graph(graph: TrackingGraph, tps: Sequence[int], radius: float) -> motile.TrackGraph:
    """motile's TrackGraph: every nucleus (pinned), links to its nearest nuclei of t-1."""
    import motile  # optional: pip install motile

    track = motile.TrackGraph()
    inside = set(tps)
    for t in tps:
        ids, centers = graph.centers_at(t)
        for i in ids.tolist():
            track.add_node(i, {"t": t, "fixed": True})
        if t - 1 not in inside or not len(ids):
            continue
        pids, pcenters = graph.centers_at(t - 1)
        k = min(MOTILE_NEIGHBOURS, len(pids))
        dist, idx = cKDTree(pcenters).query(centers, k=k, distance_upper_bound=radius)
        dist, idx = dist.reshape(len(ids), k), idx.reshape(len(ids), k)
        for row, child in enumerate(ids.tolist()):
            for d, j in zip(dist[row].tolist(), idx[row].tolist(), strict=True):
                if np.isfinite(d):
                    track.add_edge((int(pids[j]), child), {"distance": d})
    return track


def motile_solver(track: motile.TrackGraph) -> motile.Solver:
    """The usual tracking costs and constraints (weights set per solve)."""
    import motile
    from motile.constraints import MaxChildren, MaxParents, Pin
    from motile.costs import EdgeSelectedCost, NodeAppearCost, NodeSplitCost

    solver = motile.Solver(track)
    solver.add_cost(EdgeSelectedCost(weight=1.0, attribute="distance"), name="distance")
    solver.add_cost(NodeAppearCost(constant=1.0), name="appear")
    solver.add_cost(NodeSplitCost(constant=0.0), name="division")
    solver.add_constraint(MaxParents(1))
    solver.add_constraint(MaxChildren(2))
    solver.add_constraint(Pin("fixed"))  # the nuclei are given: all selected
    return solver


def motile_links(
    solver: motile.Solver, nuclei: TrackingGraph, tps: Sequence[int]
) -> tuple[TrackingGraph, str]:
    """Solve and return the selected links on the window's nuclei, and the solver's status."""
    from motile.variables import EdgeSelected

    solution = solver.solve(timeout=MOTILE_TIMEOUT, num_threads=1)
    edges = solver.get_variables(EdgeSelected)
    links = [Link(p, c, Status.PREDICTED) for (p, c), i in edges.items() if solution[i] > 0.5]
    window = [n for t in tps for n in nuclei.nuclei_at(t)]
    return TrackingGraph.from_records(window, sorted(links, key=lambda lk: lk.key)), str(
        solution.get_status()
    )


def tuned_motile(truth: TrackingGraph, nn: float, tps: Sequence[int]) -> Run:
    """motile on the window; appear and division costs swept, best link + division F1 kept."""
    nuclei = unlinked(truth)
    total = time.perf_counter()
    start = time.perf_counter()
    solver = motile_solver(candidate_graph(nuclei, tps, max(MOTILE_APPEAR) * nn))
    build = time.perf_counter() - start
    best: tuple[float, Run] | None = None
    for appear, division in itertools.product(MOTILE_APPEAR, MOTILE_DIVISION):
        solver.weights[("appear", "constant")] = appear * nn
        solver.weights[("division", "constant")] = division * nn
        start = time.perf_counter()
        graph, status = motile_links(solver, nuclei, tps)
        seconds = time.perf_counter() - start
        score = link_score(evaluate(graph, truth, DMAX, tps))
        print(f"    motile appear {appear * nn:.1f} division {division * nn:.1f}: "
              f"{score:.3f} ({status}, {seconds:.0f} s)", flush=True)  # fmt: skip
        if best is None or score > best[0]:
            setting = (
                f"appear {appear * nn:.1f}, division {division * nn:.1f} (µm of distance), "
                f"{MOTILE_NEIGHBOURS} candidates ≤ {max(MOTILE_APPEAR) * nn:.1f} µm; {status}"
            )
            best = (score, Run(graph, build + seconds, setting, {"status": status}))
    run = best[1]
    run.extra |= {"build_s": build, "sweep_s": time.perf_counter() - total}
    run.extra["settings_tried"] = len(MOTILE_APPEAR) * len(MOTILE_DIVISION)
    return run


def motile_available() -> str | None:
    """None when motile and a solver import; else why not."""
    try:
        import ilpy
        import motile  # noqa: F401
    except ImportError as exc:
        return f"not available: {exc}"
    try:
        ilpy.Solver(1, ilpy.VariableType.Binary, preference=ilpy.Preference.Scip)
    except Exception as exc:  # any solver failure means: no motile row
        return f"not available: no SCIP backend ({exc})"
    return None


# ------------------------------------------------------------- diagnosis
def division_diagnosis(truth: TrackingGraph, result: TrackingGraph, d_search: float) -> dict:
    """What a result did with each daughter of the truth, and where its false divisions are."""
    ratio, dist, outcome = [], [], {"mother": 0, "other parent": 0, "no parent": 0}
    nearer, stealer_busy = 0, 0
    for mother, kids in ((n, truth.children(n.id)) for n in truth.nuclei()):
        if len(kids) != 2:
            continue
        radius = float(lateral_radius(mother.cov_matrix))
        for k in kids:
            child = truth.nucleus(k)
            d = float(np.linalg.norm(np.subtract(child.center, mother.center)))
            dist.append(d)
            ratio.append(d / radius)
            got = result.parent(k)
            key = "no parent" if got is None else "mother" if got == mother.id else "other parent"
            outcome[key] += 1
            if key == "other parent":
                d_got = float(
                    np.linalg.norm(np.subtract(child.center, result.nucleus(got).center))
                )
                nearer += d_got < d
                stealer_busy += len(result.children(got)) == 2
    false = [
        n.id
        for n in result.nuclei()
        if len(result.children(n.id)) == 2 and len(truth.children(n.id)) != 2
    ]
    steps = [
        float(np.linalg.norm(np.subtract(result.nucleus(c).center, result.nucleus(p).center)))
        for p in false
        for c in result.children(p)
        if truth.parent(c) != p
    ]
    return {
        "daughter_distance_um": _percentiles(dist),
        "daughter_distance_over_mother_radius": _percentiles(ratio),
        "d_search_um": d_search,
        "daughters_beyond_d_search": int(sum(d > d_search for d in dist)),
        "daughters_linked_to": outcome,
        "daughters_elsewhere_nearer_parent": nearer,
        "daughters_elsewhere_parent_divides": stealer_busy,
        "false_divisions": len(false),
        "false_division_stolen_child_distance_um": _percentiles(steps),
    }


def _percentiles(xs: Sequence[float]) -> dict[str, float]:
    if not xs:
        return {}
    p10, p50, p90 = np.percentile(xs, [10, 50, 90])
    return {"p10": float(p10), "median": float(p50), "p90": float(p90), "max": float(max(xs))}


def diagnosis_lines(key: str, diag: dict) -> list[str]:
    d, r, s = (
        diag["daughter_distance_um"],
        diag["daughter_distance_over_mother_radius"],
        diag["false_division_stolen_child_distance_um"],
    )
    to = diag["daughters_linked_to"]
    near, busy = (
        diag["daughters_elsewhere_nearer_parent"],
        diag["daughters_elsewhere_parent_divides"],
    )
    return [
        f"{key}: truth daughters lie {d['median']:.1f} µm (p10 {d['p10']:.1f}, p90 "
        f"{d['p90']:.1f}, max {d['max']:.1f}) from their mother = {r['median']:.2f} mother "
        f"radii (p90 {r['p90']:.2f}); d_search {diag['d_search_um']:.1f} µm, "
        f"{diag['daughters_beyond_d_search']} daughters beyond it",
        f"  default nn links daughters to: mother {to['mother']}, another parent "
        f"{to['other parent']} (nearer than the mother: {near}; "
        f"that parent then divides: {busy}), none "
        f"{to['no parent']}",
        f"  false divisions {diag['false_divisions']}: the adopted child lies "
        + (f"{s['median']:.1f} µm (p10 {s['p10']:.1f}, p90 {s['p90']:.1f})" if s else "—")
        + " from its false mother",
    ]


# ----------------------------------------------------------------- lineage
def scored_row(
    key: str, method: str, run: Run, truth: TrackingGraph, scope: str, tps: Sequence[int] | None
) -> Row:
    ev = evaluate(run.graph, truth, DMAX, tps)
    return Row(key, method, run.setting, scope, ev, run.seconds, dict(run.extra))


def run_lineage(key: str, args: argparse.Namespace, motile_note: str | None) -> tuple[list, dict]:
    truth = load_csv(args.data / LINEAGES[key])
    ts = truth.timepoints()
    nn = median_spacing(truth.nuclei())  # every timepoint of these lineages (< 128)
    radius = median_lateral_radius(truth.nuclei()) or 0.0
    print(
        f"\n{key}: {len(truth)} nuclei, {truth.n_links} links, {divisions(truth)} divisions, "
        f"t {ts[0]}..{ts[-1]}; median NN distance {nn:.1f} µm, median lateral radius "
        f"{radius:.1f} µm",
        flush=True,
    )
    everything = f"all {len(ts)} t"
    n_window = len(ts) if args.window <= 0 else min(args.window, len(ts))
    window = ts[:n_window]
    span = f"t {window[0]}..{window[-1]}"
    rows: list[Row] = []
    runs: list[tuple[str, Run]] = []
    for name, paper in (("ELEPHANT defaults", False), ("ELEPHANT nn, paper's rules", True)):
        run = elephant(truth, paper)
        print(f"  {name}: {run.seconds:.1f} s", flush=True)
        runs.append((name, run))
    lap = tuned_laptrack(truth, nn)
    print(f"  laptrack: {lap.setting} (sweep {lap.extra['sweep_s']:.0f} s)", flush=True)
    runs.append(("laptrack (truth-tuned)", lap))
    rows += [scored_row(key, name, run, truth, everything, None) for name, run in runs]
    if motile_note is None:
        print(f"  motile on {span} ({sum(len(truth.ids_at(t)) for t in window)} nuclei):")
        mot = tuned_motile(truth, nn, window)
        rows += [scored_row(key, name, run, truth, span, window) for name, run in runs]
        for row in rows[-len(runs) :]:
            row.method += " [rescored]"
        rows.append(scored_row(key, "motile (truth-tuned)", mot, truth, span, window))
    else:
        rows.append(Row(key, "motile", motile_note, span, None, None))
    default = runs[0][1].graph
    d_search = resolve_linking(LinkingParams(), truth.nuclei()).d_search
    return rows, division_diagnosis(truth, default, float(d_search))


# ----------------------------------------------------------------- report
def table(rows: Sequence[Row]) -> str:
    head = (
        "| lineage | method | setting | scored | link P | link R | link F1 | div P | div R "
        "| div F1 | div truth | div result | seconds |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.scores is None:
            lines.append(f"| {r.lineage} | {r.method} | {r.setting} | {r.scope} |"
                         + " — |" * 9)  # fmt: skip
            continue
        lk, dv = r.scores.links, r.scores.divisions
        secs = "same run" if r.method.endswith("[rescored]") else f"{r.seconds:.1f}"
        lines.append(
            f"| {r.lineage} | {r.method} | {r.setting} | {r.scope} | {lk.precision:.3f} "
            f"| {lk.recall:.3f} | {lk.f1:.3f} | {dv.precision:.3f} | {dv.recall:.3f} "
            f"| {dv.f1:.3f} | {dv.tp + dv.fn} | {dv.tp + dv.fp} | {secs} |"
        )
    return "\n".join(lines)


def as_json(rows: Sequence[Row], header: list[str], diags: dict, wall: float) -> dict:
    out: dict[str, Any] = {"machine": header, "dmax_um": DMAX, "wall_s": wall, "rows": []}
    for r in rows:
        scores = None if r.scores is None else r.scores.as_dict()
        out["rows"].append({"lineage": r.lineage, "method": r.method, "setting": r.setting,
                            "scored": r.scope, "seconds": r.seconds, "scores": scores,
                            **r.extra})  # fmt: skip
    out["default_division_diagnosis"] = diags
    return out


def versions() -> str:
    names = ("laptrack", "motile", "ilpy", "pyscipopt")
    return ", ".join(f"{n} {package_version(n)}" for n in names)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(1)
    header = [*machine_lines(torch.device("cpu"), 1), versions()]
    print("\n".join(header))
    note = "skipped (--no-motile)" if args.no_motile else motile_available()
    start = time.perf_counter()
    rows: list[Row] = []
    diags: dict[str, dict] = {}
    for key in args.lineages.split(","):
        got, diags[key] = run_lineage(key, args, note)
        rows += got
    wall = time.perf_counter() - start
    print(f"\nmatching within {DMAX:g} µm; peers tuned on the truth (link F1 + division F1); "
        "[rescored]: the run above scored on motile's window")  # fmt: skip
    print(table(rows))
    print("")
    for key, diag in diags.items():
        print("\n".join(diagnosis_lines(key, diag)))
    print(f"total wall clock {wall:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(as_json(rows, header, diags, wall), indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
