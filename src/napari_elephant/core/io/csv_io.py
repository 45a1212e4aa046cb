"""The tracking graph as a CSV table: one nucleus per row, its parent by id.

Columns written, in this order::

    id,t,z,y,x,cov_zz,cov_zy,cov_zx,cov_yy,cov_yx,cov_xx,parent_id,status,confidence

Positions in µm, covariance in µm² (upper triangle, see ``COV_KEYS``),
``parent_id`` empty for none, ``status`` the nucleus' status, ``confidence``
the detection network's (0–1), empty for none.  Floats are written with
``repr`` so a round trip is exact.

Tag sets (:mod:`napari_elephant.core.tagsets`) get one column each after
these, ``tag:SET``, holding a nucleus' value or nothing; reading them back
gives each nucleus its ``SET=VALUE`` tags (an import into a workspace
replaces the values it names and keeps the rest).

A CSV carries less than the graph: no origin (new nuclei get "predicted"
when their status is predicted, "manual" otherwise), no free tags, and no link
status (a link takes its child's status).  ``parent_id`` is the lineage
parent, so rejected links (negative examples, which may sit beside it) are
not written, except a rejected nucleus' rejected link when it has no lineage
parent (it reads back rejected).  GEFF keeps everything.

Reading is lenient where it is safe: ``radius`` (µm) may replace the six
covariance columns, ``parent_id``, ``status`` (default accepted) and
``confidence`` (default none) may be absent, unknown columns are ignored.  A
table without a ``z`` column is a 2D movie's: its nuclei are 2D (z = 0, the
flat covariance of :func:`~napari_elephant.core.ellipsoid.flat_cov` built
from ``cov_yy``, ``cov_yx``, ``cov_xx``, which replace the six columns;
``radius`` still works).
Everything else is checked, and each error names the file and the row, counted
like a spreadsheet (the header is row 1).
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from napari_elephant.core.errors import GraphError, InvalidInputError
from napari_elephant.core.graph import (
    AddLinks,
    AddNuclei,
    Compound,
    Link,
    Nucleus,
    Origin,
    Status,
    TrackingGraph,
    UpdateLinks,
    UpdateNuclei,
)
from napari_elephant.core.graph.merge import MergeReport
from napari_elephant.core.graph.store import gc_paused
from napari_elephant.core.io.csv_columns import (
    CSV_COLUMNS,
    TAG_PREFIX,
    CsvTable,
    column_or_zero,
    confidences,
    covariances,
    read_records,
    statuses,
    tags,
    tuples,
)
from napari_elephant.core.tagsets import merged_tags, set_names, value_of


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One parsed and checked row: the nucleus it describes and its parent id."""

    row: int
    nucleus: Nucleus
    parent_id: int | None


ImportReport = MergeReport  # what an import changed: the same record as any merge


# ------------------------------------------------------------------ writing
def write_csv(graph: TrackingGraph, path: str | os.PathLike) -> None:
    """Write every nucleus, sorted by (t, id), with its parent and status."""
    path = Path(path)
    try:
        with path.open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f, lineterminator="\n")
            sets = set_names(n.tags for n in graph.nuclei())
            out.writerow([*CSV_COLUMNS, *(TAG_PREFIX + s for s in sets)])
            for n in sorted(graph.nuclei(), key=lambda n: (n.t, n.id)):
                cells = [value_of(n.tags, s) or "" for s in sets]
                out.writerow([*_row(n, _parent_of(graph, n)), *cells])
    except OSError as e:
        raise InvalidInputError(f"cannot write CSV {path}: {e.strerror or e}") from None


def _parent_of(graph: TrackingGraph, n: Nucleus) -> int | None:
    """The lineage parent; for a rejected nucleus without one, its rejected parent
    link, which reads back as it is (a link takes its child's status)."""
    parent = graph.parent(n.id)
    if parent is None and n.status == Status.REJECTED:
        parent = next((lk.parent for lk in graph.parent_links(n.id)), None)
    return parent


def _row(n: Nucleus, parent: int | None) -> tuple:
    # csv writes a Python float as its repr, the shortest text that reads back exactly
    numbers = [float(v) for v in (*n.center, *n.cov)]
    p = "" if parent is None else int(parent)
    q = "" if n.confidence is None else float(n.confidence)
    return (int(n.id), int(n.t), *numbers, p, n.status.value, q)


# ------------------------------------------------------------------ reading
def read_csv(path: str | os.PathLike) -> list[CsvRow]:
    """Parse and check a CSV: values column by column, then ids and parents.

    Parents that are not in the file are checked later, against the graph
    the rows are imported into.
    """
    path = Path(path)
    header, records = read_records(path)
    table = CsvTable(header, records, path)
    ids, _ = table.integers("id")
    t, _ = table.integers("t")
    centers = np.stack([column_or_zero(table, a) for a in "zyx"], axis=1)
    six = covariances(table)
    parents, has_parent = table.integers("parent_id", optional=True)
    status = statuses(table)
    origin = [Origin.PREDICTED if s is Status.PREDICTED else Origin.MANUAL for s in status]
    columns = (ids.tolist(), t.tolist(), tuples(centers), tuples(six), status, origin)
    nuclei = map(Nucleus, *columns, tags(table), confidences(table))
    parent_ids = [
        p if h else None for p, h in zip(parents.tolist(), has_parent.tolist(), strict=True)
    ]
    rows = list(map(CsvRow, table.rows.tolist(), nuclei, parent_ids))
    _check_rows(rows, path)
    return rows


def _check_rows(rows: list[CsvRow], path: Path) -> None:
    """Ids unique; parents in the file earlier in time; at most two children."""
    by_id: dict[int, CsvRow] = {}
    for r in rows:
        first = by_id.setdefault(r.nucleus.id, r)
        if first is not r:
            raise InvalidInputError(
                f"{path}, row {r.row}: duplicate id {r.nucleus.id} (first on row {first.row})"
            )
    children: Counter[int] = Counter()
    for r in rows:
        if r.parent_id is None:
            continue
        parent = by_id.get(r.parent_id)
        if parent is not None and parent.nucleus.t >= r.nucleus.t:
            raise InvalidInputError(
                f"{path}, row {r.row}: parent {r.parent_id} is at t={parent.nucleus.t}, "
                f"not earlier than t={r.nucleus.t}"
            )
        if r.nucleus.status == Status.REJECTED:  # a rejected link takes no child slot
            continue
        children[r.parent_id] += 1
        if children[r.parent_id] > 2:
            raise InvalidInputError(
                f"{path}, row {r.row}: nucleus {r.parent_id} would have more than two children"
            )


# ------------------------------------------------------------------ importing
@dataclass
class _Plan:
    """The edits an import makes, worked out and checked before any is applied."""

    added: list[Nucleus]
    before: list[Nucleus]
    after: list[Nucleus]
    new_links: list[Link]
    links_before: list[Link]
    links_after: list[Link]
    children: Counter[int]

    def actions(self, name: str) -> Compound:
        parts = (
            AddNuclei(tuple(self.added), name=name) if self.added else None,
            UpdateNuclei(tuple(self.before), tuple(self.after), name=name) if self.after else None,
            UpdateLinks(tuple(self.links_before), tuple(self.links_after), name=name)
            if self.links_after
            else None,  # before the new links: a link the file rejects frees a slot
            AddLinks(tuple(self.new_links), name=name) if self.new_links else None,
        )
        return Compound(tuple(p for p in parts if p is not None), name=name)

    def report(self) -> ImportReport:
        return ImportReport(
            len(self.added), len(self.after), len(self.new_links), len(self.links_after)
        )


def import_csv(graph: TrackingGraph, path: str | os.PathLike) -> ImportReport:
    """Merge a CSV into a graph as one undoable step.

    A row whose id exists updates that nucleus' centre, covariance, status and
    confidence (an empty one keeps it; its timepoint must match); a
    ``parent_id`` adds the link with the child's status, or updates the status
    of an existing one.  Links already in the
    graph are never removed.  New nuclei get origin "predicted" when their
    status is predicted, "manual" otherwise.
    """
    path = Path(path)
    with gc_paused():
        plan = _plan_import(graph, read_csv(path), path)
    action = plan.actions(f"import {path.name}")
    if action.actions:
        try:
            graph.apply(action)
        except GraphError as e:  # the compound has rolled itself back
            raise InvalidInputError(f"{path}: {e}") from None
    return plan.report()


def load_csv(path: str | os.PathLike) -> TrackingGraph:
    """A fresh graph from a CSV (no undo history), for the reader and evaluation."""
    path = Path(path)
    with gc_paused():
        plan = _plan_import(TrackingGraph(), read_csv(path), path)
        try:
            return TrackingGraph.from_records(plan.added, plan.new_links)
        except GraphError as e:
            raise InvalidInputError(f"{path}: {e}") from None


def _plan_import(graph: TrackingGraph, rows: list[CsvRow], path: Path) -> _Plan:
    plan = _Plan([], [], [], [], [], [], Counter())
    for r in rows:
        _plan_nucleus(graph, r, plan, path)
    in_file = {r.nucleus.id: r.nucleus for r in rows}
    for r in rows:
        if r.parent_id is not None:
            _plan_link(graph, r, in_file, plan, path)
    return plan


def _plan_nucleus(graph: TrackingGraph, r: CsvRow, plan: _Plan, path: Path) -> None:
    n = r.nucleus
    if n.id not in graph:
        plan.added.append(n)
        return
    old = graph.nucleus(n.id)
    if old.t != n.t:
        raise InvalidInputError(
            f"{path}, row {r.row}: nucleus {n.id} exists at t={old.t}, not t={n.t}"
        )
    confidence = old.confidence if n.confidence is None else n.confidence  # empty keeps it
    new = old.with_(
        center=n.center,
        cov=n.cov,
        status=n.status,
        confidence=confidence,
        tags=merged_tags(old.tags, n.tags),
    )
    if new != old:
        plan.before.append(old)
        plan.after.append(new)


def _plan_link(
    graph: TrackingGraph, r: CsvRow, in_file: dict[int, Nucleus], plan: _Plan, path: Path
) -> None:
    p, c = r.parent_id, r.nucleus.id
    assert p is not None

    def fail(message: str) -> InvalidInputError:
        return InvalidInputError(f"{path}, row {r.row}: {message}")

    if p not in in_file and p not in graph:
        raise fail(f"parent {p} is neither in the file nor in the graph")
    parent_t = in_file[p].t if p in in_file else graph.nucleus(p).t
    if parent_t >= r.nucleus.t:
        raise fail(f"parent {p} is at t={parent_t}, not earlier than t={r.nucleus.t}")
    link = Link(p, c, r.nucleus.status)
    if graph.has_link(p, c):
        old = graph.link(p, c)
        if old != link:
            plan.links_before.append(old)
            plan.links_after.append(link)
        return
    if link.status != Status.REJECTED:  # rejected links are outside the graph's limits
        _check_limits(graph, p, c, plan, fail)
    plan.new_links.append(link)


def _check_limits(
    graph: TrackingGraph, p: int, c: int, plan: _Plan, fail: Callable[[str], Exception]
) -> None:
    """A new lineage link p → c keeps one parent per child and two children per parent."""
    current = graph.parent(c) if c in graph else None
    if current is not None:
        raise fail(f"nucleus {c} already has parent {current} in the graph; unlink it first")
    n_children = (len(graph.children(p)) if p in graph else 0) + plan.children[p]
    if n_children >= 2:
        raise fail(f"nucleus {p} would have more than two children")
    plan.children[p] += 1
