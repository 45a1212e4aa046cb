"""Division F1 against the number of divisions a user has checked (issue 13, item 3).

For each movie (true nuclei, links removed): link with the defaults; a user
checks k of the divisions the linker proposed — picked at random (seeded,
``--repeats`` draws) or the least sure first (``--order doubt``, as the N key
visits them) — accepting both daughter links of a true division and
rejecting each wrong daughter link of a false one; then everything is linked
again with the defaults, once with the learned division model (the default,
``learn_divisions``) and once without it, in the same run.  Division F1 is
scored only on the divisions nobody checked (a checked mother is left out
of the truth and of the result), so the gain is what the checks taught, not
what they fixed.

    cd benchmarks && ../.venv/bin/python learned_divisions.py --plot learned.png
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from napari_elephant.core.graph import Link, Status, TrackingGraph
from napari_elephant.core.graph.checking import division_order
from napari_elephant.core.io.csv_io import load_csv
from napari_elephant.core.linking import link_round
from napari_elephant.core.linking.division_model import learn
from napari_elephant.core.metrics import prepare
from napari_elephant.core.params import LinkingParams
from napari_elephant.core.synthetic import generate
from napari_elephant.core.training.progress import drain

MATCH_UM = 0.1  # true nuclei: the same positions


@dataclass
class Row:
    movie: str
    checked: int
    f1_off: list[float]
    f1_on: list[float]
    models: int = 0


def divisions(graph: TrackingGraph) -> dict[int, frozenset[int]]:
    """Mother → her two lineage children."""
    kids: dict[int, list[int]] = {}
    for link in graph.links():
        if link.status != Status.REJECTED:
            kids.setdefault(link.parent, []).append(link.child)
    return {m: frozenset(k) for m, k in kids.items() if len(k) == 2}


def linked(nuclei, decisions: list[Link], learn_divisions: bool) -> TrackingGraph:
    """The nuclei with the user's decisions, linked with the defaults."""
    graph = TrackingGraph.from_records(list(nuclei), decisions)
    drain(link_round(graph, LinkingParams(learn_divisions=learn_divisions)))
    return graph


def check(graph: TrackingGraph, truth: TrackingGraph, mothers: list[int]) -> list[Link]:
    """The user's verdict on the daughter links of some proposed divisions."""
    true_kids = {m: set(truth.children(m)) for m in truth.nx_graph.nodes}
    out = []
    for m in mothers:
        for c in graph.children(m):
            ok = c in true_kids.get(m, ())
            out.append(Link(m, c, Status.ACCEPTED if ok else Status.REJECTED))
    return out


def rest_f1(result: TrackingGraph, truth: TrackingGraph, checked: set[int]) -> float:
    """Division F1 over the mothers nobody checked."""
    _, _, match = prepare(result, truth, MATCH_UM)
    want = {m: k for m, k in divisions(truth).items() if m not in checked}
    got = {m: k for m, k in divisions(result).items() if m not in checked}
    tp = sum(1 for m, k in got.items() if want.get(match.get(m)) == {match.get(c) for c in k})
    return 2 * tp / max(1, 2 * tp + (len(got) - tp) + (len(want) - tp))


def measure(name: str, truth: TrackingGraph, ks: list[int], args) -> list[Row]:
    first = linked(truth.nuclei(), [], True)
    proposed = sorted(divisions(first))
    rows = []
    for k in ks:
        row = Row(name, k, [], [])
        draws = 1 if k == 0 or args.order == "doubt" else args.repeats
        for r in range(draws):
            if args.order == "doubt":
                mothers = division_order(first, proposed)[:k]
            else:
                mothers = list(np.random.default_rng(r).permutation(proposed)[:k])
            decisions = check(first, truth, [int(m) for m in mothers])
            checked = TrackingGraph.from_records(list(truth.nuclei()), decisions)
            row.models += learn(checked) is not None
            for on, scores in ((False, row.f1_off), (True, row.f1_on)):
                scores.append(rest_f1(linked(truth.nuclei(), decisions, on), truth, set(mothers)))
        rows.append(row)
        print(
            f"{name:18s} checked {k:3d}: division F1 of the rest {np.mean(row.f1_off):.3f} "
            f"without the model, {np.mean(row.f1_on):.3f} with it "
            f"(model made in {row.models}/{draws})",
            flush=True,
        )
    return rows


def movies(args) -> list[tuple[str, TrackingGraph]]:
    out = [(f"{p}:{s}", generate(p, seed=s).graph) for p in args.presets for s in args.seeds]
    return out + [(Path(f).stem, load_csv(Path(f))) for f in args.lineage]


def plot(rows: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    for name in dict.fromkeys(r.movie for r in rows):
        mine = [r for r in rows if r.movie == name]
        ks = [r.checked for r in mine]
        line = ax.plot(ks, [np.mean(r.f1_on) for r in mine], "o-", label=f"{name}")[0]
        ax.plot(ks, [np.mean(r.f1_off) for r in mine], "o--", color=line.get_color(), alpha=0.5)
    ax.set_xlabel("divisions checked by the user")
    ax.set_ylabel("division F1 of the unchecked rest")
    ax.set_title("solid: learned division model (default); dashed: without", fontsize=9)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="*", default=["fast_motion", "crowded_dim"])
    ap.add_argument("--seeds", nargs="*", type=int, default=[1002, 1003, 1004])
    ap.add_argument("--lineage", nargs="*", default=[], help="true lineages (CSV), e.g. ASTEC")
    ap.add_argument("--checks", default="0,2,4,8,12,16", help="divisions checked, comma-separated")
    ap.add_argument("--repeats", type=int, default=3, help="random draws per count")
    ap.add_argument("--order", choices=["random", "doubt"], default="random")
    ap.add_argument("--plot", type=Path, help="write the curves here (needs matplotlib)")
    args = ap.parse_args()
    start, rows = time.perf_counter(), []
    for name, truth in movies(args):
        rows += measure(name, truth, [int(k) for k in args.checks.split(",")], args)
    if args.plot:
        plot(rows, args.plot)
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
