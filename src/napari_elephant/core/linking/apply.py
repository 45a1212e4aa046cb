"""A linking run on the graph: plan step by step, then apply as one undoable action.

:func:`plan_links` is a generator (one :class:`Progress` per pair of
timepoints, stoppable between pairs) that only reads the graph; its return
value is a :class:`LinkPlan`.  :func:`apply_plan` writes the plan in one
``graph.batch`` — so a widget can plan in a worker thread and apply on the
GUI thread — and :func:`link_round` does both.  Human decisions win (see
:mod:`.frames`): the run replaces only the predicted links between the
timepoints it links; new links are ``predicted``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field, replace

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import (
    AddLinks,
    AddNuclei,
    Link,
    RemoveLinks,
    Status,
    TrackingGraph,
)
from napari_elephant.core.linking.carried import MotionSample, carried_shift, motion_sample
from napari_elephant.core.linking.coherence import coherent_plan
from napari_elephant.core.linking.confidence import link_confidences
from napari_elephant.core.linking.division_model import learn as learn_divisions
from napari_elephant.core.linking.estimator import PositionEstimator
from napari_elephant.core.linking.fleeting import drop_fleeting_daughters
from napari_elephant.core.linking.frames import Key, Scope, frame_pair, make_scope
from napari_elephant.core.linking.global_ import global_link
from napari_elephant.core.linking.interpolate import Gap, GapFinder, find_gaps
from napari_elephant.core.linking.nn import nn_link
from napari_elephant.core.linking.problem import FramePair
from napari_elephant.core.linking.sizes import nuclei_of, resolve_linking
from napari_elephant.core.params import LinkingParams
from napari_elephant.core.training.progress import Progress, StopFlag

Linker = Callable[[FramePair, LinkingParams], list[Key]]
LINKERS: dict[str, Linker] = {"nn": nn_link, "flow": nn_link, "global": global_link}
TASK = "link"


@dataclass(frozen=True)
class LinkPlan:
    """What a run will change: the links it proposes, what it replaces, the gaps it fills.

    ``scope`` holds exactly what gets replaced: after a stop, only the stale
    links of the steps that ran (and no nuclei).  ``confidence``: the
    linker's confidence in each proposed link (:mod:`.confidence`).
    """

    method: str
    scope: Scope
    proposed: tuple[Key, ...]
    steps_done: int
    stopped: bool = False
    gaps: tuple[Gap, ...] = ()
    confidence: Mapping[Key, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LinkResult:
    """What a run changed, for the status line."""

    method: str
    links_added: int = 0
    links_removed: int = 0
    links_unchanged: int = 0
    nuclei_removed: int = 0
    nuclei_interpolated: int = 0
    steps: int = 0
    stopped: bool = False

    def __str__(self) -> str:
        text = (
            f"{self.method}: {self.links_added} links added, {self.links_removed} replaced, "
            f"{self.links_unchanged} unchanged over {self.steps} steps"
        )
        if self.nuclei_interpolated or self.nuclei_removed:
            text += (
                f"; {self.nuclei_interpolated} nuclei interpolated, "
                f"{self.nuclei_removed} old ones removed"
            )
        return text + (" (stopped)" if self.stopped else "")


def wants_flow(method: str, params: LinkingParams) -> bool:
    """Whether a run links along the flow model's position estimates."""
    return method == "flow" or params.along_flow


def default_timepoints(graph: TrackingGraph) -> list[int]:
    """Every timepoint from the first to the last that holds a nucleus."""
    ts = graph.timepoints()
    return list(range(ts[0], ts[-1] + 1)) if ts else []


def _linker(method: str, estimator: PositionEstimator | None) -> Linker:
    if method not in LINKERS:
        raise InvalidInputError(f"unknown linking method {method!r} (nn, flow or global)")
    if method == "flow" and estimator is None:
        raise InvalidInputError("flow linking needs a position estimator (a trained flow model)")
    return LINKERS[method]


def plan_links(
    graph: TrackingGraph,
    params: LinkingParams,
    timepoints: Iterable[int] | None = None,
    estimator: PositionEstimator | None = None,
    method: str | None = None,
    stop: StopFlag | None = None,
    coherence: int | None = None,
) -> Generator[Progress, None, LinkPlan]:
    """Propose the links among ``timepoints`` (default: all), one step t−1 → t at a time.

    Reads the graph only.  ``method``: nn (with the estimator when given),
    flow (nn that requires an estimator) or global; default ``params.method``.
    ``coherence``: rounds of re-linking with estimates corrected by the
    neighbours' links (:mod:`.coherence`; 0: off, the paper's linking;
    default ``params.coherence_rounds``).
    A stop between steps ends the plan early with the steps done so far.
    """
    method = method or params.method
    coherence = params.coherence_rounds if coherence is None else coherence
    linker = _linker(method, estimator)
    scope = make_scope(graph, default_timepoints(graph) if timepoints is None else timepoints)
    params = resolve_linking(params, nuclei_of(graph, scope.timepoints))
    gaps = GapFinder(graph, scope, params, estimator)
    steps, proposed, bridges = scope.steps, [], []
    sure: dict[Key, float] = {}
    alone: dict[Key, float] = {}  # daughters' confidence were their sister let go
    carried: MotionSample | None = None
    model = learn_divisions(graph) if coherence > 0 and params.learn_divisions else None
    start = time.perf_counter()
    for i, t in enumerate(steps):
        if stop is not None and stop.check():
            partial = _partial(graph, scope, steps[:i])
            kept = _settled(graph, scope, proposed, bridges, steps[i - 1] if i else None)
            sure = lone_sisters(sure, alone, proposed, kept)
            return LinkPlan(method, partial, kept, i, True, tuple(bridges), sure)
        pair = frame_pair(graph, scope, t, estimator, model)
        if gaps.active:
            pair = replace(pair, bridgeable=gaps.bridgeable(t, pair, carried))
        links, used = coherent_plan(
            linker, pair, params, coherence, carried_shift(carried, t, pair)
        )
        carried = motion_sample(t, pair, links)
        gaps.add_motion(carried)
        sure.update(link_confidences(used, links))
        alone.update(link_confidences(used, daughters_of(links), lone=True))
        gaps.add_links(links)
        found = gaps.bridge(t)
        proposed += links
        bridges += found
        elapsed = time.perf_counter() - start
        message = f"t={t - 1}→{t}: {len(links)} links" + (
            f", {len(found)} gaps" if gaps.active else ""
        )
        yield Progress(TASK, i + 1, len(steps), elapsed=elapsed, message=message, extra={"t": t})
    kept = _settled(graph, scope, proposed, bridges)
    sure = lone_sisters(sure, alone, proposed, kept)
    return LinkPlan(method, scope, kept, len(steps), False, tuple(bridges), sure)


def _settled(
    graph: TrackingGraph,
    scope: Scope,
    proposed: list[Key],
    bridges: list[Gap],
    last: int | None = None,
) -> tuple[Key, ...]:
    """The proposals once the whole run is known: daughters with no future dropped."""
    sources = [gap.source for gap in bridges]
    return tuple(drop_fleeting_daughters(graph, scope, proposed, sources, last))


def daughters_of(links: list[Key]) -> list[Key]:
    """The links of parents with two children among ``links``."""
    n = Counter(p for p, _ in links)
    return [k for k in links if n[k[0]] == 2]


def lone_sisters(
    sure: dict[Key, float], alone: dict[Key, float], proposed: list[Key], kept: Iterable[Key]
) -> dict[Key, float]:
    """``sure`` with a daughter whose sister was let go judged as an only child."""
    kept = set(kept)
    left = {p for p, c in proposed if (p, c) not in kept}
    return sure | {k: alone[k] for k in kept if k[0] in left and k in alone}


def _partial(graph: TrackingGraph, scope: Scope, done: list[int]) -> Scope:
    """The scope of a stopped run: the stale links of the steps done, no nuclei."""
    ts = set(done)
    stale = frozenset(k for k in scope.stale_links if graph.nucleus(k[1]).t in ts)
    return Scope(scope.timepoints, stale)


def apply_plan(graph: TrackingGraph, plan: LinkPlan) -> LinkResult:
    """Write a plan into the graph as one undoable action."""
    proposed, sure = set(plan.proposed), plan.confidence
    stale = plan.scope.stale_links
    # a link proposed again is rewritten when its confidence changed
    same = {k for k in proposed & stale if graph.link(*k).confidence == sure.get(k)}
    remove = [k for k in sorted(stale) if k not in same]
    add = [Link(p, c, Status.PREDICTED, sure.get((p, c))) for p, c in plan.proposed]
    add = [lk for lk in add if lk.key not in same]
    fresh = [lk for lk in add if lk.key not in stale]
    n_new = 0
    with graph.batch(f"link ({plan.method})"):
        if remove:
            graph.apply(RemoveLinks(tuple(graph.link(p, c) for p, c in remove)))
        if plan.scope.stale_nuclei:
            graph.apply(graph.removal(sorted(plan.scope.stale_nuclei), name="replace"))
        if add:
            graph.apply(AddLinks(tuple(add)))
        for gap in plan.gaps:
            nuclei, links = gap.records([graph.new_id() for _ in range(len(gap.centers))])
            graph.apply(AddNuclei(nuclei, links, name="interpolate"))
            n_new += len(nuclei)
    return LinkResult(
        method=plan.method,
        links_added=len(fresh),
        links_removed=len(remove) - (len(add) - len(fresh)),
        links_unchanged=len(proposed) - len(fresh),
        nuclei_removed=len(plan.scope.stale_nuclei),
        nuclei_interpolated=n_new,
        steps=plan.steps_done,
        stopped=plan.stopped,
    )


def link_round(
    graph: TrackingGraph,
    params: LinkingParams,
    timepoints: Iterable[int] | None = None,
    estimator: PositionEstimator | None = None,
    method: str | None = None,
    stop: StopFlag | None = None,
    coherence: int | None = None,
) -> Generator[Progress, None, LinkResult]:
    """Plan (yielding progress) and apply as one undoable action; returns what changed."""
    plan = yield from plan_links(graph, params, timepoints, estimator, method, stop, coherence)
    return apply_plan(graph, plan)


def interpolate(
    graph: TrackingGraph,
    params: LinkingParams,
    timepoints: Iterable[int] | None = None,
    estimator: PositionEstimator | None = None,
) -> LinkResult:
    """Fill the gaps of the current links (``params.t_max`` back) as one undoable action.

    Keeps every existing link and nucleus; only adds interpolated chains.
    """
    ts = default_timepoints(graph) if timepoints is None else timepoints
    scope = make_scope(graph, ts, replace=False)
    params = resolve_linking(params, nuclei_of(graph, scope.timepoints))
    gaps = find_gaps(graph, scope, [], params, estimator)
    return apply_plan(graph, LinkPlan("interpolate", scope, (), 0, False, tuple(gaps)))
