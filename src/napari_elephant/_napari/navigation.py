"""Moving the viewer through the tracking graph: time steps that follow the
selected track, parent / child / sibling jumps, and "next nucleus to look at"
searches (unvalidated, track end, division).

World coordinates are (t, z, y, x) in µm on the viewer's last four axes (the
layers' scale makes it so), whatever the orientation the user picked: jumping
to a nucleus sets the hidden axes to it (the slice cuts through it) and
centres the camera on the displayed ones.

The searches are plain functions of the graph (tested without a viewer);
they scan the current timepoint after the current nucleus, then the later
timepoints, then wrap around to the start.  Within a timepoint the ids go in
increasing order, except for "next unvalidated" and "next division", which
put the doubtful ones first (:mod:`~napari_elephant.core.graph.checking`:
the network's and the linker's confidence ascending, those without one
last).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from napari_elephant._napari.viewer_dims import centre_on, current_t, set_t
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Status, TrackingGraph
from napari_elephant.core.graph.checking import check_order, division_order

if TYPE_CHECKING:
    from napari_elephant._napari.viewer_workspace import ViewerWorkspace

DIVISION_TAG = "division"  # set by editing.Editor.mark_division


# -------------------------------------------------------------- the graph
def relative_at(graph: TrackingGraph, nid: int, t: int) -> int | None:
    """The nucleus of nid's track at timepoint t (ancestor, or descendant through
    the first daughter; lineage links only: ``graph.parent`` and ``graph.children``
    leave rejected links out), None when the track skips or never reaches t."""
    node = nid
    while graph.nucleus(node).t > t:
        parent = graph.parent(node)
        if parent is None:
            return None
        node = parent
    while graph.nucleus(node).t < t:
        children = graph.children(node)
        if not children:
            return None
        node = children[0]
    return node if graph.nucleus(node).t == t else None


def sibling(graph: TrackingGraph, nid: int) -> int | None:
    parent = graph.parent(nid)
    if parent is None:
        return None
    others = [c for c in graph.children(parent) if c != nid]
    return others[0] if others else None


IdOrder = Callable[[TrackingGraph, int], list[int]]
"""The ids of one timepoint in the order a search visits them."""


def by_id(graph: TrackingGraph, t: int) -> list[int]:
    return graph.ids_at(t).tolist()


def by_doubt(graph: TrackingGraph, t: int) -> list[int]:
    """Least confident first: the predictions most likely to be wrong."""
    return check_order(graph.nuclei(graph.ids_at(t).tolist()), graph)


def by_division_doubt(graph: TrackingGraph, t: int) -> list[int]:
    """The least sure divisions first (their predicted daughter links' confidence)."""
    return division_order(graph, graph.ids_at(t).tolist())


def scan(
    graph: TrackingGraph, t: int, after: int | None = None, order: IdOrder = by_id
) -> Iterator[int]:
    """Ids from timepoint t (those after ``after`` in ``order``), the later
    timepoints, then the earlier ones and finally the rest of t: every nucleus once."""
    times = graph.timepoints()
    start = int(np.searchsorted(times, t))
    head: list[int] = []
    for tt in times[start:] + times[:start]:
        ids = order(graph, tt)
        if tt == t and after is not None:
            cut = _position_after(ids, after, sorted_ids=order is by_id)
            head, ids = ids[:cut], ids[cut:]
        yield from ids
    yield from head


def _position_after(ids: list[int], after: int, sorted_ids: bool) -> int:
    """Where the ids after ``after`` start (from the top when it is not there)."""
    if sorted_ids:
        return int(np.searchsorted(ids, after, side="right"))
    return ids.index(after) + 1 if after in ids else 0


def first(
    graph: TrackingGraph,
    t: int,
    after: int | None,
    keep: Callable[[int], bool],
    order: IdOrder = by_id,
) -> int | None:
    return next((i for i in scan(graph, t, after, order) if keep(i)), None)


def is_predicted(graph: TrackingGraph, nid: int) -> bool:
    return graph.nucleus(nid).status == Status.PREDICTED


def is_track_end(graph: TrackingGraph, nid: int, last_t: int) -> bool:
    """A nucleus (not rejected) without lineage children before the last timepoint:
    a track the linker or the user lost."""
    n = graph.nucleus(nid)
    return n.t < last_t and n.status != Status.REJECTED and not graph.children(nid)


def is_division(graph: TrackingGraph, nid: int) -> bool:
    """Two lineage children, or tagged as dividing by the user."""
    return len(graph.children(nid)) == 2 or DIVISION_TAG in graph.nucleus(nid).tags


# -------------------------------------------------------------- navigator
class Navigator:
    """The navigation keys of one session: move the viewer, select the target."""

    def __init__(self, session: ViewerWorkspace) -> None:
        self.session = session

    @property
    def graph(self) -> TrackingGraph:
        return self.session.require_graph()

    def _current(self) -> int | None:
        cur = self.session.selection.current
        return int(cur) if cur is not None and cur in self.graph else None

    def _need_current(self) -> int:
        cur = self._current()
        if cur is None:
            raise InvalidInputError("select a nucleus first")
        return cur

    def jump(self, nid: int) -> None:
        """Select a nucleus and bring it to the middle of the view."""
        self.session.selection.select_one(nid)
        self.centre(nid)

    def centre(self, nid: int | None = None) -> None:
        """W: centre the view on the current nucleus (or the given one)."""
        nid = self._need_current() if nid is None else nid
        n = self.graph.nucleus(nid)
        centre_on(self.session.viewer, n.t, n.center)

    def step(self, delta: int) -> None:
        """Previous / next timepoint; the selected track's nucleus there becomes the
        current one and stays in the middle of the view."""
        viewer = self.session.viewer
        t = current_t(viewer) + delta
        cur = self._current()
        if not set_t(viewer, t):
            raise InvalidInputError(f"no timepoint {t}")
        follow = relative_at(self.graph, cur, t) if cur is not None else None
        if follow is not None:
            self.jump(follow)

    def _go(self, target: int | None, what: str) -> None:
        if target is None:
            raise InvalidInputError(f"the nucleus has no {what}")
        self.jump(target)

    def parent(self) -> None:
        self._go(self.graph.parent(self._need_current()), "parent")

    def child(self) -> None:
        children = self.graph.children(self._need_current())
        self._go(children[0] if children else None, "child")

    def sibling(self) -> None:
        self._go(sibling(self.graph, self._need_current()), "sibling")

    def _next(
        self,
        keep: Callable[[int], bool],
        what: str,
        order: IdOrder = by_id,
        outside: Callable[[int], bool] = lambda _i: False,
    ) -> None:
        """Jump to the first nucleus ``keep`` accepts after the current one in ``order``;
        from the top of the timepoint when the current one is ``outside`` the order."""
        after = self._current()
        t = current_t(self.session.viewer)
        if after is not None and (self.graph.nucleus(after).t != t or outside(after)):
            after = None
        found = first(self.graph, t, after, keep, order)
        if found is None or found == after:
            raise InvalidInputError(f"no other {what}")
        self.jump(found)

    def next_predicted(self) -> None:
        """The next nucleus still to validate (status predicted), the least
        confident of the timepoint first."""
        self._next(
            lambda i: is_predicted(self.graph, i),
            "predicted nucleus",
            by_doubt,
            outside=lambda i: not is_predicted(self.graph, i),  # e.g. a nucleus just added
        )

    def next_track_end(self) -> None:
        times = self.graph.timepoints()
        last = times[-1] if times else 0
        self._next(lambda i: is_track_end(self.graph, i, last), "track end")

    def next_division(self) -> None:
        """The next division, the least sure of the timepoint first."""
        self._next(
            lambda i: is_division(self.graph, i),
            "division",
            by_division_doubt,
            outside=lambda i: not is_division(self.graph, i),
        )
