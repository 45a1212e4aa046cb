"""DET / TRA against the reference implementation (py-ctcmetrics) on rendered label images.

The CTC matches nuclei by mask overlap (a result mask covering more than half
of a truth mask), ours by centre distance.  The scenes here make the two agree:
every nucleus is a 3×5×5-voxel box on a coarse grid, a result box shifted by at
most 2 voxels (≤ 2 µm, ≥ 60 % overlap) is a match in both, one shifted by 4 (4 µm,
20 % overlap) in neither, so DET and TRA must agree to rounding.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_elephant.core.ctc_metrics import Aogm, normalised
from napari_elephant.core.graph import Status, TrackingGraph
from napari_elephant.core.metrics import evaluate

SHAPE = (5, 64, 64)  # z, y, x voxels
VOXEL = np.array([2.0, 1.0, 1.0])  # µm
CELLS = (8, 20, 32, 44, 56)  # grid of y and x box centres (voxels)
N_FRAMES = 6
DMAX = 3.0


def put(g: TrackingGraph, t: int, y: int, x: int, dx: int = 0, status: str = "accepted") -> int:
    """A nucleus in grid cell (y, x) shifted ``dx`` voxels along x."""
    return g.add_nucleus(
        t, (2 * VOXEL[0], y * VOXEL[1], (x + dx) * VOXEL[2]), radius=2, status=status
    )


def chain(g: TrackingGraph, ids: list[int]) -> None:
    for p, c in itertools.pairwise(ids):
        g.add_link(p, c)


# ------------------------------------------------------ CTC rendering
def ctc_tracks(g: TrackingGraph) -> tuple[dict[int, int], list[list[int]]]:
    """Track label of each kept nucleus and the CTC rows (L, B, E, P).

    A nucleus continues its parent's track when it is the only child at the
    next timepoint; otherwise (division, gap, root) it starts a new track.
    """
    kept = {n.id: n.t for n in g.nuclei() if n.status != Status.REJECTED}
    kids: dict[int, list[int]] = {}
    parent: dict[int, int] = {}
    for lk in g.links():
        if lk.status != Status.REJECTED and lk.parent in kept and lk.child in kept:
            kids.setdefault(lk.parent, []).append(lk.child)
            parent[lk.child] = lk.parent
    label: dict[int, int] = {}
    rows: dict[int, list[int]] = {}
    for nid in sorted(kept, key=lambda i: (kept[i], i)):
        p = parent.get(nid)
        if p is not None and len(kids[p]) == 1 and kept[nid] == kept[p] + 1:
            label[nid] = label[p]
            rows[label[p]][2] = kept[nid]
        else:
            label[nid] = len(rows) + 1
            rows[label[nid]] = [label[nid], kept[nid], kept[nid], label[p] if p else 0]
    return label, list(rows.values())


def write_ctc(g: TrackingGraph, folder: Path, mask: str, track_file: str) -> None:
    label, rows = ctc_tracks(g)
    frames = np.zeros((N_FRAMES, *SHAPE), np.uint16)
    for nid, value in label.items():
        n = g.nucleus(nid)
        z, y, x = np.round(np.asarray(n.center) / VOXEL).astype(int)
        box = frames[n.t, z - 1 : z + 2, y - 2 : y + 3, x - 2 : x + 3]
        assert not box.any(), "boxes must not touch"
        box[...] = value
    folder.mkdir(parents=True)
    for t, frame in enumerate(frames):
        tifffile.imwrite(folder / f"{mask}{t:03d}.tif", frame)
    (folder / track_file).write_text("".join(" ".join(map(str, r)) + "\n" for r in rows))


def reference(result: TrackingGraph, truth: TrackingGraph, tmp_path: Path) -> dict:
    ctc = pytest.importorskip("ctc_metrics")
    write_ctc(truth, tmp_path / "GT" / "TRA", "man_track", "man_track.txt")
    write_ctc(result, tmp_path / "RES", "mask", "res_track.txt")
    return ctc.evaluate_sequence(
        str(tmp_path / "RES"), str(tmp_path / "GT"), metrics=["DET", "TRA"], threads=1
    )


def assert_agrees(result: TrackingGraph, truth: TrackingGraph, tmp_path: Path) -> Aogm:
    ref = reference(result, truth, tmp_path)
    ours = evaluate(result, truth, dmax=DMAX).ctc
    counts = {k: ours.as_dict()[k] for k in ("NS", "FN", "FP", "ED", "EA", "EC")}
    assert counts == {k: int(ref[f"AOGM_{k}"]) for k in counts}
    assert ours.aogm == pytest.approx(ref["AOGM"], abs=1e-9)
    assert ours.aogm_0 == pytest.approx(ref["AOGM_0"], abs=1e-9)
    assert ours.det == pytest.approx(ref["DET"], abs=1e-9)
    assert ours.tra == pytest.approx(ref["TRA"], abs=1e-9)
    return ours


# --------------------------------------------------- the hand-built case
def hand_truth() -> tuple[TrackingGraph, dict[str, list[int]]]:
    g, ids = TrackingGraph(), {}
    ids["A"] = [put(g, t, 8, 8) for t in range(3)]
    ids["B"] = [put(g, t, 8, 20) for t in range(3, 6)]
    ids["C"] = [put(g, t, 20, 8) for t in range(3, 6)]
    ids["D"] = [put(g, t, 32, 32) for t in range(2)] + [put(g, t, 32, 44) for t in range(3, 6)]
    ids["E"] = [put(g, t, 44, 44) for t in range(6)]
    ids["F"] = [put(g, t, 56, 8) for t in range(6)]
    ids["H"] = [put(g, t, 8, 56) for t in range(2)]
    ids["I"] = [put(g, t, 20, 56) for t in range(2, 6)]
    ids["J"] = [put(g, t, 32, 56) for t in range(2, 6)]
    for name in "ABCDEFHIJ":
        chain(g, ids[name])
    for parent, child in (("A", "B"), ("A", "C"), ("H", "I"), ("H", "J")):
        g.add_link(ids[parent][-1], ids[child][0])
    put(g, 0, 56, 32, status="rejected")  # "not a nucleus" in the truth
    return g, ids


def hand_result() -> TrackingGraph:
    """The truth with errors of every kind (see the counts in the test)."""
    g = TrackingGraph()
    a = [put(g, 0, 8, 8, dx=1), put(g, 1, 8, 8), put(g, 2, 8, 8)]
    b = [put(g, t, 8, 20) for t in range(3, 6)]
    chain(g, a + b)  # the division lost its second daughter: A2 → B3 is a continuation
    put(g, 3, 20, 8, status="rejected")  # on top of the truth's C3, but rejected
    chain(g, [put(g, t, 20, 8) for t in (4, 5)])
    chain(g, [put(g, t, 32, 32) for t in range(2)] + [put(g, t, 32, 44) for t in range(3, 6)])
    e = [put(g, t, 44, 44) for t in range(6)]
    f = [put(g, 0, 56, 8), put(g, 1, 56, 8), put(g, 2, 56, 8), put(g, 3, 56, 8, dx=4)]
    f += [put(g, t, 56, 8) for t in (4, 5)]
    g.add_link(e[0], e[1], status="rejected")
    chain(g, e[1:3])
    chain(g, e[3:])
    g.add_link(e[4], f[5])  # wrong: E4 now "divides"
    chain(g, f[:5])  # through the near miss F3
    h = [put(g, t, 8, 56) for t in range(2)]
    i = [put(g, t, 20, 56) for t in range(2, 6)]
    j = [put(g, 2, 32, 56), put(g, 3, 32, 56, dx=-1), put(g, 4, 32, 56), put(g, 5, 32, 56)]
    chain(g, h + i)
    chain(g, j)
    g.add_link(h[1], j[0])
    chain(g, [put(g, 1, 56, 56), put(g, 2, 20, 32)])  # spurious track
    put(g, 0, 56, 32)  # where the truth has only a rejected nucleus
    put(g, 2, 44, 20, status="rejected")
    return g


def test_hand_case_counts_every_kind_of_error():
    (truth, _), result = hand_truth(), hand_result()
    ev = evaluate(result, truth, dmax=DMAX)
    assert (ev.detection.tp, ev.detection.fp, ev.detection.fn) == (34, 4, 2)
    assert (ev.links.tp, ev.links.fp, ev.links.fn) == (24, 4, 7)
    assert (ev.divisions.tp, ev.divisions.fp, ev.divisions.fn) == (1, 1, 1)
    c = ev.ctc
    assert (c.fn, c.fp, c.ns, c.ed, c.ea, c.ec) == (2, 4, 0, 1, 7, 2)
    assert (c.n_vertices, c.n_edges) == (36, 31)
    assert ev.det == pytest.approx(1 - 24 / 360)
    assert ev.tra == pytest.approx(1 - 37.5 / 406.5)


def test_hand_case_agrees_with_py_ctcmetrics(tmp_path):
    truth, _ = hand_truth()
    ours = assert_agrees(hand_result(), truth, tmp_path)
    assert ours.ec == 2 and ours.ed == 1  # the case really exercises edge errors


def test_perfect_result_scores_one_in_both(tmp_path):
    truth, _ = hand_truth()
    ours = assert_agrees(hand_truth()[0], truth, tmp_path)
    assert ours.det == 1.0 and ours.tra == 1.0


# ------------------------------------------------------ seeded random cases
def cell_of(n) -> tuple[int, int]:
    """The grid cell a nucleus sits in (boxes never leave their cell)."""
    y, x = round(n.center[1] / VOXEL[1]), round(n.center[2] / VOXEL[2])
    return min(CELLS, key=lambda c: abs(c - y)), min(CELLS, key=lambda c: abs(c - x))


def random_truth(rng: np.random.Generator) -> TrackingGraph:
    """Lineages on the grid (one nucleus per cell and frame) with divisions, deaths and gaps."""
    g = TrackingGraph()
    free = [[(y, x) for y in CELLS for x in CELLS] for _ in range(N_FRAMES)]
    for cells in free:
        rng.shuffle(cells)

    def spawn(t: int) -> int:
        return put(g, t, *free[t].pop(), dx=int(rng.integers(-1, 2)))

    live = {0: [spawn(0) for _ in range(8)]}
    for t in range(N_FRAMES - 1):
        for p in live.pop(t, []):
            r = rng.random()
            n_kids = 0 if r < 0.05 else 2 if r < 0.25 else 1
            gap = 2 if n_kids == 1 and r > 0.9 and t + 2 < N_FRAMES else 1
            for _ in range(n_kids):
                child = spawn(t + gap)
                g.add_link(p, child)
                live.setdefault(t + gap, []).append(child)
    return g


def shifted(truth_dx: int, rng: np.random.Generator) -> int:
    """A result box's x shift: near its truth box (≤ 1 voxel off) or, sometimes, a near miss."""
    if rng.random() < 0.07:
        return truth_dx + 4 if truth_dx <= 0 else truth_dx - 4
    return int(np.clip(truth_dx + rng.integers(-1, 2), -2, 2))


def perturbed(truth: TrackingGraph, rng: np.random.Generator) -> TrackingGraph:
    """A result: nuclei dropped, shifted, missed, rejected or made up; links lost or added."""
    g, new = TrackingGraph(), {}
    for n in truth.nuclei():
        if rng.random() < 0.1:
            continue
        y, x = cell_of(n)
        status = "rejected" if rng.random() < 0.05 else "accepted"
        new[n.id] = put(g, n.t, y, x, dx=shifted(round(n.center[2]) - x, rng), status=status)
    for lk in truth.links():
        if lk.parent in new and lk.child in new and rng.random() > 0.1:
            status = "rejected" if rng.random() < 0.05 else "accepted"
            g.add_link(new[lk.parent], new[lk.child], status)
    for t in range(N_FRAMES):
        taken = {cell_of(n) for n in truth.nuclei_at(t)}
        empty = [(y, x) for y in CELLS for x in CELLS if (y, x) not in taken]
        for k in rng.choice(len(empty), size=2, replace=False):
            put(g, t, *empty[k])
    add_wrong_links(g, rng)
    return g


def add_wrong_links(g: TrackingGraph, rng: np.random.Generator) -> None:
    """Links between nuclei that can still take one (a free parent slot, no lineage parent)."""
    for t in range(N_FRAMES - 1):
        for _ in range(4):
            later = min(t + int(rng.integers(1, 3)), N_FRAMES - 1)
            a = [int(i) for i in g.ids_at(t) if len(g.children(int(i))) < 2]
            b = [int(i) for i in g.ids_at(later) if g.parent(int(i)) is None]
            if a and b:
                p, c = a[rng.integers(len(a))], b[rng.integers(len(b))]
                if not g.has_link(p, c):  # a rejected link may join them already
                    g.add_link(p, c)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_cases_agree_with_py_ctcmetrics(seed, tmp_path):
    rng = np.random.default_rng(seed)
    truth = random_truth(rng)
    ours = assert_agrees(perturbed(truth, rng), truth, tmp_path)
    assert min(ours.fn, ours.fp, ours.ed, ours.ea, ours.ec) > 0  # every kind of error occurs


def test_empty_truth_scores_one_only_against_an_empty_result():
    assert normalised(0.0, 0.0) == 1.0 and normalised(3.0, 0.0) == 0.0
    assert normalised(50.0, 10.0) == 0.0  # worse than starting over is capped at 0
