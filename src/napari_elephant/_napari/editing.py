"""Editing commands of one session: each call is one graph action (one undo step).

The keyboard (``keymap``), the layers (``layer_edits``) and the docks all edit
through :class:`Editor`, so every edit lands in the graph's history and the
layers follow through the graph's events, never the other way round.

Commands act on the selected nuclei, or, when nothing is selected, on the
nucleus under the cursor: the hand stays on the keyboard while the mouse
hovers (Mastodon's habit).

A division is a nucleus with two children (DESIGN §3).  "Mark a division"
tags the mother ``division`` (so a division still missing a daughter can be
found again with the next-division key) and, when a parentless nucleus at a
later timepoint is selected with her, links it as her second child; "unmark"
removes the tag and the link to a selected daughter.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_elephant._napari.navigation import DIVISION_TAG
from napari_elephant._napari.viewer_dims import current_t, cursor_world, set_t
from napari_elephant.core.errors import GraphError, InvalidInputError
from napari_elephant.core.graph import Status, TrackingGraph
from napari_elephant.core.tagsets import find_set, tag_nuclei

if TYPE_CHECKING:
    from napari_elephant._napari.viewer_workspace import ViewerWorkspace

AXES = ("z", "y", "x")
STEP, COARSE, FINE = 1.10, 1.30, 1.02  # radius factors of E/Q, Shift+E/Q, Ctrl+Shift+E/Q
ROTATE_DEG = 10.0
MIN_SEMI_AXIS = 0.1  # µm; smaller ellipsoids are degenerate, not nuclei
PICK_REACH = 3.0  # search radius for the cursor fallback, in units of r_max


def parent_keys(graph: TrackingGraph, nid: int) -> list[tuple[int, int]]:
    """The link to a nucleus' lineage parent; without one, its rejected parent links
    (outside the one-parent limit), so that those can still be accepted again or removed."""
    parent = graph.parent(nid)
    if parent is not None:
        return [(parent, nid)]
    return [lk.key for lk in graph.parent_links(nid)]


# ------------------------------------------------------------- geometry
def scaled_cov(cov: np.ndarray, factor: float) -> np.ndarray:
    """Every radius times ``factor``."""
    return np.asarray(cov, dtype=np.float64) * factor**2


def axis_scaled_cov(cov: np.ndarray, axis: int, factor: float) -> np.ndarray:
    """Stretch the ellipsoid along one world axis (0, 1, 2 = z, y, x) by ``factor``."""
    s = np.ones(3)
    s[axis] = factor
    return np.asarray(cov, dtype=np.float64) * np.outer(s, s)


def rotation(axis: int, degrees: float) -> np.ndarray:
    """Rotation about one world axis (0, 1, 2 = z, y, x), right-handed in (z, y, x)."""
    a, b = [i for i in range(3) if i != axis]
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    r = np.eye(3)
    r[a, a], r[a, b], r[b, a], r[b, b] = c, -s, s, c
    return r


def rotated_cov(cov: np.ndarray, axis: int, degrees: float) -> np.ndarray:
    r = rotation(axis, degrees)
    return r @ np.asarray(cov, dtype=np.float64) @ r.T


def inside(center: np.ndarray, cov: np.ndarray, point: np.ndarray) -> float:
    """``dᵀ cov⁻¹ d`` of a point: ≤ 1 inside the ellipsoid."""
    d = np.asarray(point, dtype=np.float64) - np.asarray(center, dtype=np.float64)
    return float(d @ np.linalg.solve(cov, d))


def _check_size(cov: np.ndarray) -> np.ndarray:
    if np.sqrt(np.linalg.eigvalsh(cov).min()) < MIN_SEMI_AXIS:
        raise GraphError(f"a nucleus cannot be thinner than {MIN_SEMI_AXIS} µm")
    return cov


# --------------------------------------------------------------- editor
class Editor:
    """Edits of one session's graph, driven by the keys, the layers and the docks."""

    def __init__(self, session: ViewerWorkspace) -> None:
        self.session = session
        self.axis = 0  # the axis Alt+E/Q resize along and Alt+←/→ rotate about (z)

    # ------------------------------------------------------ targets
    @property
    def graph(self) -> TrackingGraph:
        return self.session.require_graph()

    def cursor(self) -> tuple[int, np.ndarray]:
        """(timepoint, (z, y, x) µm) under the mouse."""
        viewer = self.session.viewer
        return current_t(viewer), cursor_world(viewer)[-3:]

    def hovered(self) -> int | None:
        """The nucleus under the cursor: its outline in the plane, else the ellipsoid
        (in 3D views) holding the cursor that is relatively nearest."""
        t, point = self.cursor()
        hit = self.session.nucleus_at(np.array([t, *point]))
        if hit is not None:
            return int(hit)
        graph = self.graph
        reach = PICK_REACH * self._params().r_max
        scores = [
            (inside(n.center, n.cov_matrix, point), n.id) for n in self._near(t, point, reach)
        ]
        best = min(scores, default=(np.inf, None))
        return best[1] if best[0] <= 1.0 and best[1] in graph else None

    def _near(self, t: int, point: np.ndarray, reach: float) -> list[Any]:
        return list(self.graph.nuclei(self.graph.within(t, point, reach).tolist()))

    def targets(self) -> list[int]:
        """The selected nuclei, else the one under the cursor; an error when neither."""
        graph = self.graph
        ids = [i for i in sorted(self.session.selection.ids) if i in graph]
        if not ids:
            hit = self.hovered()
            ids = [] if hit is None else [hit]
        if not ids:
            raise InvalidInputError("select a nucleus (or point at one) first")
        return ids

    def current(self) -> int:
        """The nucleus keys act on one at a time: the current selection, else the hovered."""
        cur = self.session.selection.current
        if cur is not None and cur in self.graph:
            return int(cur)
        return self.targets()[-1]

    def _params(self) -> Any:
        """Detection settings with the sizes resolved (clicks get the typical size)."""
        # here, not at the top: the engine loads torch, and napari imports the reader
        # (which starts the session and its editor) on every file dropped on it
        from napari_elephant.core.detection.engine import prediction_params

        return prediction_params(self.session.require_workspace())

    # ------------------------------------------------------- nuclei
    def add(self, t: int, center: Any, cov: Any = None, select: bool = True) -> int:
        """Add an accepted, manual nucleus (default radius unless cov); select it."""
        radius = None if cov is not None else self._params().nucleus_diameter / 2.0
        nid = self.graph.add_nucleus(t, center, cov=cov, radius=radius)
        if select:
            self.session.selection.select_one(nid)
        return nid

    def add_at_cursor(self) -> int:
        t, point = self.cursor()
        return self.add(t, point)

    def delete(self) -> None:
        """Delete the target nuclei with their links."""
        self.graph.apply(self.graph.removal(self.targets(), name="delete nuclei"))

    def move(self, moves: dict[int, Any]) -> None:
        """New centres (µm) for some nuclei, one undo step."""
        graph = self.graph
        with graph.batch("move"):
            for nid, center in moves.items():
                graph.update_nucleus(nid, center=tuple(float(c) for c in center))

    def move_to_cursor(self) -> None:
        nid = self.current()
        t, point = self.cursor()
        if self.graph.nucleus(nid).t != t:
            raise InvalidInputError("the nucleus is at another timepoint than the view")
        self.move({nid: point})

    def set_status(self, status: Status | str) -> None:
        self.graph.set_status(self.targets(), status)

    def _reshape(self, fn: Any, name: str) -> None:
        graph = self.graph
        with graph.batch(name):
            for nid in self.targets():
                cov = _check_size(fn(graph.nucleus(nid).cov_matrix))
                graph.update_nucleus(nid, cov=cov)

    def scale(self, factor: float) -> None:
        """Grow (factor > 1) or shrink every radius of the targets."""
        self._reshape(lambda c: scaled_cov(c, factor), "resize")

    def pick_axis(self, axis: str) -> None:
        self.axis = AXES.index(axis)

    def scale_along_axis(self, factor: float) -> None:
        self._reshape(lambda c: axis_scaled_cov(c, self.axis, factor), "resize along axis")

    def rotate(self, degrees: float) -> None:
        self._reshape(lambda c: rotated_cov(c, self.axis, degrees), "rotate")

    # -------------------------------------------------------- links
    def link(self, a: int, b: int) -> None:
        """Accepted link between two nuclei, earlier → later, whichever is given first."""
        graph = self.graph
        na, nb = graph.nucleus(a), graph.nucleus(b)
        if na.t == nb.t:
            raise GraphError("cannot link two nuclei of the same timepoint")
        parent, child = (a, b) if na.t < nb.t else (b, a)
        graph.add_link(parent, child)

    def link_selected(self) -> None:
        """Link the two selected nuclei (earlier → later)."""
        ids = [i for i in sorted(self.session.selection.ids) if i in self.graph]
        if len(ids) != 2:
            raise InvalidInputError("select exactly two nuclei to link them")
        self.link(*ids)

    def unlink(self) -> None:
        """Remove the links among the selected nuclei; with one, the link to its parent."""
        graph = self.graph
        ids = self.targets()
        if len(ids) == 1:
            keys = set(parent_keys(graph, ids[0]))
        else:
            chosen = set(ids)
            keys = {lk.key for i in ids for lk in graph.links_of(i) if set(lk.key) <= chosen}
        if not keys:
            raise InvalidInputError("no link to remove")
        graph.remove_links(sorted(keys))

    def set_link_status(self, status: Status | str) -> None:
        """Accept, reject or reset the links of the targets to their parents: a linker's
        proposal becomes training material for the flow model once accepted."""
        graph = self.graph
        keys = [key for nid in self.targets() for key in parent_keys(graph, nid)]
        if not keys:
            raise InvalidInputError("no link to a parent to validate")
        graph.set_link_status(keys, status)

    def toggle_rejected(self) -> None:
        """Show or hide the rejected nuclei in the viewer."""
        self.session.show_rejected = not self.session.show_rejected

    def mark_division(self) -> None:
        """Tag the current nucleus a mother; link a selected later orphan as a daughter."""
        graph = self.graph
        mother = self.current()
        n = graph.nucleus(mother)
        daughters = [
            i
            for i in sorted(self.session.selection.ids)
            if i in graph
            and graph.nucleus(i).t > n.t
            and graph.parent(i) is None
            and not graph.has_link(mother, i)  # a rejected link: not her daughter
        ]
        with graph.batch("mark division"):
            if DIVISION_TAG not in n.tags:
                graph.update_nucleus(mother, tags=n.tags | {DIVISION_TAG})
            for d in daughters[: max(0, 2 - len(graph.children(mother)))]:
                graph.add_link(mother, d)

    def unmark_division(self) -> None:
        """Untag the current nucleus; unlink the selected daughters from it."""
        graph = self.graph
        mother = self.current()
        n = graph.nucleus(mother)
        chosen = self.session.selection.ids
        keys = [(mother, c) for c in graph.children(mother) if c in chosen]
        if DIVISION_TAG not in n.tags and not keys:
            raise InvalidInputError("the nucleus is not marked as dividing")
        with graph.batch("unmark division"):
            if DIVISION_TAG in n.tags:
                graph.update_nucleus(mother, tags=n.tags - {DIVISION_TAG})
            if keys:
                graph.remove_links(keys)

    # ------------------------------------------------------ history
    def tag_selection(self, untag: bool = False) -> int:
        """Give the targets the tag value chosen in the Tags tab (``session.tag_choice``),
        or remove that set's value; one undo step."""
        choice = self.session.tag_choice
        if choice is None:
            raise InvalidInputError("choose a tag set and a value in the Tags tab first")
        tag_set = find_set(self.session.require_workspace().tag_sets, choice.set_name)
        value = None if untag else choice.value
        return tag_nuclei(self.graph, self.targets(), tag_set, value, choice.whole_lineage)

    def undo(self) -> None:
        if self.graph.undo() is None:
            raise InvalidInputError("nothing to undo")

    def redo(self) -> None:
        if self.graph.redo() is None:
            raise InvalidInputError("nothing to redo")

    # ---------------------------------------------- held-key gestures
    def link_gesture(self, direction: int = 1) -> Iterator[None]:
        """Key down on a nucleus: the view steps one timepoint; key up on another
        nucleus: link them (down at t, up at t ± 1 or wherever the user stepped to)."""
        source = self.hovered()
        if source is None:
            raise InvalidInputError("point at a nucleus, hold the key, release on another")
        self._step(direction)
        yield
        target = self.hovered()
        if target is None:
            raise InvalidInputError("released away from any nucleus: nothing linked")
        self.link(source, target)
        self.session.selection.select_one(target)

    def add_gesture(self) -> Iterator[None]:
        """Tap: add a nucleus at the cursor.  Down on a nucleus: the view steps to the
        next timepoint; up: a copy of it is added at the cursor there, linked."""
        source = self.hovered()
        if source is None:
            self.add_at_cursor()
            return
        self._step(1)
        yield
        graph = self.graph
        t, point = self.cursor()
        if t <= graph.nucleus(source).t:
            raise InvalidInputError("step to a later timepoint to add a linked nucleus")
        with graph.batch("add linked nucleus"):
            nid = self.add(t, point, cov=graph.nucleus(source).cov_matrix, select=False)
            graph.add_link(source, nid)
        self.session.selection.select_one(nid)

    def _step(self, delta: int) -> None:
        viewer = self.session.viewer
        if not set_t(viewer, current_t(viewer) + delta):
            raise InvalidInputError("no timepoint there")
