"""Property-based tests of the tracking graph (issue 16): random sequences of every
edit, interleaved with undo and redo, keep the graph's promises.

A hypothesis state machine drives one :class:`TrackingGraph` through adds,
moves, resizes, status and tag changes, deletions, links, unlinks, link status
changes, the bulk merge of a prediction, a linking run (nearest neighbour or
global), undo and redo; an edit the graph refuses (a third child, a second
parent, a link back in time) must leave it exactly as it was.  After every
step: ids are unique and never reused, a nucleus has at most one lineage
parent and two lineage children, links go forward in time, and the events
the graph emitted match what changed.  At the end, undoing everything gives
the starting graph back and redoing everything the final one; along the way a
GEFF save/load round trip is equal to the graph.  CI runs 60 sequences of 25
steps; ``HYPOTHESIS_PROFILE=slow pytest tests/core/test_graph_properties.py``
runs 10⁴ of 40 (``GRAPH_SEQUENCES=N`` sets how many).
"""

from __future__ import annotations

import os

import numpy as np
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from napari_elephant.core.detection.merge import merge_predictions
from napari_elephant.core.detection.postprocess import Ellipsoid
from napari_elephant.core.errors import ElephantError
from napari_elephant.core.graph import Link, Status, TrackingGraph, make_nucleus
from napari_elephant.core.graph.limits import lineage_children, lineage_parents
from napari_elephant.core.io.geff_io import read_geff
from napari_elephant.core.io.geff_write import write_geff
from napari_elephant.core.linking.apply import apply_plan, plan_links
from napari_elephant.core.params import LinkingParams
from napari_elephant.core.training.progress import drain

settings.register_profile(
    "ci", max_examples=60, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
settings.register_profile(
    "slow", max_examples=10_000, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

STATUSES = st.sampled_from(list(Status))
TIMES = st.integers(0, 4)
COORD = st.floats(0.0, 12.0, allow_nan=False)  # close enough for the linkers to link
TAGS = st.frozensets(st.sampled_from(["division", "fate=neuron", "fate=glia", "x"]), max_size=2)


def state(graph: TrackingGraph) -> tuple[frozenset, frozenset]:
    """Everything a graph holds, comparable."""
    return frozenset(graph.nuclei()), frozenset(graph.links())


class GraphMachine(RuleBasedStateMachine):
    """One graph, edited at random; refused edits change nothing."""

    @initialize(n=st.integers(0, 6), seed=st.integers(0, 1000))
    def start(self, n: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.graph = TrackingGraph()
        self.graph.add_nuclei(
            [make_nucleus(i + 1, int(rng.integers(0, 5)), rng.uniform(0, 12, 3), radius=2.0)
             for i in range(n)]
        )  # fmt: skip
        self.graph.history.clear()
        self.start_state = state(self.graph)
        self.ever: set[int] = set(self.graph.nx_graph.nodes)
        self.events: list[str] = []
        for name in ("nuclei_added", "nuclei_removed", "nuclei_updated", "links_added",
                     "links_removed", "links_updated"):  # fmt: skip
            getattr(self.graph.events, name).connect(lambda *_, n=name: self.events.append(n))

    # ---------------------------------------------------------- helpers
    def ids(self) -> list[int]:
        return sorted(self.graph.nx_graph.nodes)

    def attempt(self, edit, kind: str = "edit") -> None:
        """Run an edit; a refusal must be a clear error that changed nothing."""
        before = state(self.graph)
        self.events.clear()
        try:
            edit()
        except ElephantError:
            assert state(self.graph) == before
            assert self.events == []
            event(f"{kind}: refused")
            return
        self.ever |= set(self.graph.nx_graph.nodes)
        changed = state(self.graph) != before
        event(f"{kind}: {'changed' if changed else 'nothing to do'}")
        if changed:
            assert self.events, "a change without an event"

    # ------------------------------------------------------------ edits
    @rule(t=TIMES, z=COORD, y=COORD, x=COORD, r=st.floats(0.5, 5.0))
    def add(self, t: int, z: float, y: float, x: float, r: float) -> None:
        def edit() -> None:
            nid = self.graph.new_id()
            assert nid not in self.ever  # ids are never reused, even after a delete
            self.graph.add_nuclei([make_nucleus(nid, t, (z, y, x), radius=r)])

        self.attempt(edit)

    @precondition(lambda self: len(self.graph) > 0)
    @rule(data=st.data())
    def remove(self, data) -> None:
        ids = data.draw(st.lists(st.sampled_from(self.ids()), min_size=1, max_size=3))
        self.attempt(lambda: self.graph.remove_nuclei(ids))

    @precondition(lambda self: len(self.graph) > 0)
    @rule(data=st.data(), z=COORD, status=STATUSES, tags=TAGS, r=st.floats(0.5, 5.0))
    def update(self, data, z: float, status: Status, tags, r: float) -> None:
        nid = data.draw(st.sampled_from(self.ids()))
        change = data.draw(st.sampled_from(["move", "resize", "status", "tags"]))
        n = self.graph.nucleus(nid)
        values = {
            "move": {"center": (z, *n.center[1:])},
            "resize": {"radius": r},
            "status": {"status": status},
            "tags": {"tags": tags},
        }[change]
        self.attempt(lambda: self.graph.update_nuclei([nid], **values))

    @precondition(lambda self: len(self.graph) > 1)
    @rule(data=st.data(), status=STATUSES)
    def link(self, data, status: Status) -> None:
        parent, child = data.draw(st.lists(st.sampled_from(self.ids()), min_size=2,
                                           max_size=2, unique=True))  # fmt: skip
        self.attempt(lambda: self.graph.add_links([Link(parent, child, status)]))

    @precondition(lambda self: self.graph.n_links > 0)
    @rule(data=st.data(), status=STATUSES)
    def relink(self, data, status: Status) -> None:
        key = data.draw(st.sampled_from(sorted(lk.key for lk in self.graph.links())))
        if data.draw(st.booleans()):
            self.attempt(lambda: self.graph.remove_links([key]))
        else:
            self.attempt(lambda: self.graph.set_link_status([key], status))

    @rule(t=TIMES, data=st.data(), d_sup=st.floats(0.5, 8.0))
    def merge_prediction(self, t: int, data, d_sup: float) -> None:
        """A prediction of timepoint t: new nuclei, matches to annotations, its old
        predictions replaced; one undo step."""
        points = data.draw(st.lists(st.tuples(COORD, COORD, COORD), max_size=4))
        found = [
            Ellipsoid(np.asarray(p), np.eye(3) * 4.0, 0.9, 33.5, confidence=0.5) for p in points
        ]
        self.attempt(lambda: merge_predictions(self.graph, t, found, d_sup), "merge")

    @rule(method=st.sampled_from(["nn", "global"]))
    def link_run(self, method: str) -> None:
        """The linker over every timepoint, written as one undo step."""

        def edit() -> None:
            plan = drain(plan_links(self.graph, LinkingParams(), method=method))
            apply_plan(self.graph, plan)

        self.attempt(edit, f"link {method}")

    @rule()
    def undo(self) -> None:
        self.graph.undo()

    @rule()
    def redo(self) -> None:
        self.graph.redo()

    @rule(data=st.data())
    def round_trip(self, data) -> None:
        if data.draw(st.integers(0, 9)) != 0:  # now and then: a save costs some ms
            return
        folder = self._tmp()
        write_geff(self.graph, folder / "g.geff", overwrite=True)
        assert state(read_geff(folder / "g.geff")) == state(self.graph)

    def _tmp(self):
        import tempfile
        from pathlib import Path

        if not hasattr(self, "_folder"):
            self._folder = Path(tempfile.mkdtemp(prefix="graph-props-"))
        return self._folder

    # ------------------------------------------------------- invariants
    @invariant()
    def limits_hold(self) -> None:
        g = self.graph.nx_graph
        for nid in g.nodes:
            assert len(lineage_parents(g, nid)) <= 1
            assert len(lineage_children(g, nid)) <= 2
        for lk in self.graph.links():
            assert self.graph.nucleus(lk.parent).t < self.graph.nucleus(lk.child).t

    @invariant()
    def next_id_is_fresh(self) -> None:
        if self.ever:
            assert self.graph.next_id > max(self.ever)

    def teardown(self) -> None:
        end = state(self.graph)
        undone = 0
        while self.graph.undo() is not None:
            undone += 1
        assert state(self.graph) == self.start_state
        for _ in range(undone):
            self.graph.redo()
        assert state(self.graph) == end
        if hasattr(self, "_folder"):
            import shutil

            shutil.rmtree(self._folder, ignore_errors=True)


TestGraphMachine = GraphMachine.TestCase
_CHOSEN = settings.get_profile(PROFILE)
TestGraphMachine.settings = settings(
    _CHOSEN, max_examples=int(os.environ.get("GRAPH_SEQUENCES", _CHOSEN.max_examples))
)
