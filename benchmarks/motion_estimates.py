"""Where was each nucleus a timepoint before?  Motion estimates side by side (issue 14, item 3).

On held-out 'fast_motion' movies (every true nucleus given, the true links of
t ≤ 5 accepted, as in ``linking_accuracy.py``), each estimate of a
nucleus' position at t − 1 is scored by its end-point error against the true
parent (µm, links into t ≥ 6, nobody validated them; daughters apart, since
their parent is where both came from), and by the links the default linker
makes from it (``link_round`` with a new workspace's parameters and the
estimate as its position estimator):

- zero motion (no estimator: what the default linker gets);
- validated neighbours: the median displacement of the 9 validated links
  nearest to the nucleus, from the validated step nearest in time;
- local phase cross-correlation (scikit-image) of a window of four nuclei
  spacings around the nucleus, the whole stack deep: a classical image-based
  estimate, nothing trained;
- the flow model fine-tuned on the validated links (``train_flow_round``
  with the workspace's FlowParams; ``--skip-flow`` leaves it out).

No pretrained flow model ships yet, so that row of the issue's table is
missing.

    cd benchmarks && ../.venv/bin/python motion_estimates.py --seeds 1001 1002 --threads 1
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from skimage.registration import phase_cross_correlation

from detection_speed import machine_lines  # benchmarks/ holds scripts, not a package
from linking_accuracy import VALIDATED, cached, make_workspace, scores, train_flow
from napari_elephant.core.flow.engine import flow_estimator
from napari_elephant.core.graph import Nucleus, Status, TrackingGraph
from napari_elephant.core.linking import link_round
from napari_elephant.core.linking.carried import MotionSample, local_motion
from napari_elephant.core.linking.sizes import median_spacing
from napari_elephant.core.params import LinkingParams
from napari_elephant.core.synthetic import generate
from napari_elephant.core.training.device import configure_cpu_threads, select_device
from napari_elephant.core.training.progress import drain

Estimator = Callable[[int, Sequence[Nucleus]], np.ndarray]
NEIGHBOURS = 9
WINDOW_SPACINGS = 4.0  # the correlation window's side, in median nucleus spacings


def neighbours_estimator(graph: TrackingGraph) -> Estimator:
    """Median displacement of the validated links nearest in space, from the nearest step
    (the carried motion's :func:`local_motion` over the validated links)."""
    steps: dict[int, tuple[list, list]] = {}
    for lk in graph.links():
        if lk.status == Status.ACCEPTED:
            c, p = graph.nucleus(lk.child), graph.nucleus(lk.parent)
            pos, back = steps.setdefault(c.t, ([], []))
            pos.append(c.center)
            back.append(np.subtract(p.center, c.center))
    samples = {t: MotionSample(t, np.array(p), np.array(b)) for t, (p, b) in steps.items()}

    def estimate(t: int, nuclei: Sequence[Nucleus]) -> np.ndarray:
        centers = np.array([n.center for n in nuclei], np.float64).reshape(-1, 3)
        sample = samples[min(samples, key=lambda s: abs(s - t))]
        return centers + local_motion(sample, centers, NEIGHBOURS)

    return estimate


def correlation_estimator(image: np.ndarray, voxel: np.ndarray, half_um: float) -> Estimator:
    """Local phase cross-correlation between t and t − 1 around each nucleus."""
    half = np.maximum(np.round(half_um / voxel[1:]).astype(int), 4)

    def estimate(t: int, nuclei: Sequence[Nucleus]) -> np.ndarray:
        out = []
        for n in nuclei:
            y, x = np.round(np.asarray(n.center[1:]) / voxel[1:]).astype(int)
            ys = slice(max(y - half[0], 0), min(y + half[0], image.shape[2]))
            xs = slice(max(x - half[1], 0), min(x + half[1], image.shape[3]))
            now, before = image[t][:, ys, xs], image[t - 1][:, ys, xs]
            shift, _, _ = phase_cross_correlation(now, before, normalization=None)
            out.append(np.asarray(n.center) - shift * voxel)
        return np.array(out, np.float64).reshape(-1, 3)

    return estimate


def end_point_errors(estimator: Estimator, truth: TrackingGraph, ts: range) -> np.ndarray:
    """Distance (µm) from each estimate to the true parent, one-child links into ``ts``."""
    errors = []
    for t in ts:
        pairs = [
            (truth.nucleus(lk.parent), truth.nucleus(lk.child))
            for lk in truth.links()
            if truth.nucleus(lk.child).t == t and len(truth.children(lk.parent)) == 1
        ]
        if pairs:
            est = estimator(t, [c for _, c in pairs])
            errors += np.linalg.norm(est - np.array([p.center for p, _ in pairs]), axis=1).tolist()
    return np.asarray(errors)


def linked(base: TrackingGraph, estimator: Estimator | None) -> TrackingGraph:
    graph = TrackingGraph.from_records(list(base.nuclei()), list(base.links()))
    drain(link_round(graph, LinkingParams(), estimator=estimator))
    return graph


def one_movie(seed: int, args: argparse.Namespace, root: Path, device) -> None:
    movie = generate("fast_motion", seed=seed)
    truth, image = movie.graph, movie.image.astype(np.float32)
    voxel = np.array([movie.voxel_size.z, movie.voxel_size.y, movie.voxel_size.x])
    ws = make_workspace(movie, root / f"seed{seed}")
    base = TrackingGraph.from_records(list(ws.graph.nuclei()), list(ws.graph.links()))
    half = WINDOW_SPACINGS * median_spacing(base.nuclei()) / 2
    estimators: dict[str, Estimator | None] = {
        "zero motion (default)": None,
        "validated neighbours": neighbours_estimator(base),
        f"phase correlation ({2 * half:.0f} µm window)": correlation_estimator(image, voxel, half),
    }
    if not args.skip_flow:
        seconds, info = train_flow(ws, device, args.epochs, 0)
        print(f"seed {seed}: flow fine-tuned on t = 1..{VALIDATED} in {seconds:.0f} s ({info})")
        estimators["flow, fine-tuned"] = flow_estimator(ws, device)
    n_t = max(truth.timepoints()) + 1
    held_out = range(VALIDATED + 1, n_t)
    zero = end_point_errors(lambda t, ns: np.array([n.center for n in ns]), truth, held_out)
    print(f"\nfast_motion {seed}: zero-motion error {zero.mean():.2f} µm over {len(zero)} links")
    print("| estimate | error mean (µm) | median | ÷ zero | link F1 | division F1 | TRA | s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, est in estimators.items():
        start = time.perf_counter()
        est = None if est is None else cached(est, base)
        err = zero if est is None else end_point_errors(est, truth, held_out)
        part, _ = scores(linked(base, est), truth)
        print(
            f"| {name} | {err.mean():.2f} | {np.median(err):.2f} | {err.mean() / zero.mean():.2f} "
            f"| {part.links.f1:.4f} | {part.divisions.f1:.3f} | {part.tra:.4f} "
            f"| {time.perf_counter() - start:.0f} |",
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", nargs="*", type=int, default=[1001, 1002])
    ap.add_argument("--epochs", type=int, default=None, help="flow epochs (FlowParams')")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--skip-flow", action="store_true")
    args = ap.parse_args()
    device = select_device(args.device)
    for line in machine_lines(device, configure_cpu_threads(args.threads)):
        print(line)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            one_movie(seed, args, Path(tmp), device)


if __name__ == "__main__":
    main()
