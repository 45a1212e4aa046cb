"""The lineage as tables: one row per nucleus, per track, per division.

What counts is the lineage a user sees: nuclei that are not rejected,
joined by links that are not rejected (a rejected link says "not the same
cell").  A **track** is a run of nuclei without a division, as in napari's
Tracks layer and Mastodon's branch graph: it starts where a nucleus has no
parent or its parent divides, and ends at a nucleus without exactly one
child; its id is the id of its first nucleus, so it survives edits
elsewhere.  **Generation** counts the divisions above a nucleus (0 for the
first cells of a lineage).  The **cell-cycle length** of a track is the
number of timepoints from the division that made it to the one that ends it,
known only when both are in the movie.  Sizes are the ellipsoids': the
volume (µm³) in 3D, the area (µm²) of the ellipse in 2D; speed is the
distance from the parent (µm per timepoint, divided by the timepoints the
link spans).
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from napari_elephant.core.ellipsoid import equal_volume_radius, flat_area, six_volume
from napari_elephant.core.errors import ElephantError
from napari_elephant.core.graph import Status, TrackingGraph
from napari_elephant.core.tagsets import set_names, value_of

if TYPE_CHECKING:
    from napari_elephant.core.workspace import Workspace

NONE = -1


@dataclass(frozen=True)
class Lineage:
    """The lineage's nuclei sorted by (t, id) and each one's lineage parent (row)."""

    ids: np.ndarray
    t: np.ndarray
    centers: np.ndarray
    six: np.ndarray
    status: np.ndarray  # str
    confidence: np.ndarray  # nan where unknown
    tags: list[frozenset[str]]
    parent: np.ndarray  # row of the parent, NONE for none
    link_confidence: np.ndarray  # of the link from the parent, nan where unknown
    link_status: np.ndarray  # str of the link from the parent, "" without one
    n_children: np.ndarray
    two_d: bool

    def __len__(self) -> int:
        return len(self.ids)

    # every table and plot reads these: each is worked out once per lineage
    @cached_property
    def generation(self) -> np.ndarray:
        """Divisions above each nucleus (rows are in time order: parents first)."""
        gen = np.zeros(len(self), np.int64)
        for i in np.flatnonzero(self.parent >= 0).tolist():
            p = self.parent[i]
            gen[i] = gen[p] + (self.n_children[p] == 2)
        return gen

    @cached_property
    def track_first(self) -> np.ndarray:
        """The row of each nucleus' track's first nucleus."""
        first = np.arange(len(self))
        for i in np.flatnonzero(self.parent >= 0).tolist():
            p = self.parent[i]
            if self.n_children[p] == 1:
                first[i] = first[p]
        return first

    @cached_property
    def speed(self) -> np.ndarray:
        """µm per timepoint from the parent; nan without one."""
        out = np.full(len(self), np.nan)
        has = self.parent >= 0
        p = self.parent[has]
        step = np.linalg.norm(self.centers[has] - self.centers[p], axis=1)
        out[has] = step / np.maximum(self.t[has] - self.t[p], 1)
        return out


def lineage_of(graph: TrackingGraph, two_d: bool = False) -> Lineage:
    """The lineage arrays of ``graph`` (``two_d``: a 2D movie, sizes are areas)."""
    nuclei = sorted(
        (n for n in graph.nuclei() if n.status != Status.REJECTED), key=lambda n: (n.t, n.id)
    )
    ids = np.array([n.id for n in nuclei], np.int64)
    row = {int(i): k for k, i in enumerate(ids.tolist())}
    parent = np.full(len(ids), NONE, np.int64)
    link_q = np.full(len(ids), np.nan)
    link_status = np.full(len(ids), "", dtype=object)
    for link in graph.links():
        if link.status == Status.REJECTED or link.parent not in row or link.child not in row:
            continue
        parent[row[link.child]] = row[link.parent]
        link_q[row[link.child]] = np.nan if link.confidence is None else link.confidence
        link_status[row[link.child]] = str(link.status)
    return Lineage(
        ids=ids,
        t=np.array([n.t for n in nuclei], np.int64),
        centers=np.array([n.center for n in nuclei], np.float64).reshape(-1, 3),
        six=np.array([n.cov for n in nuclei], np.float64).reshape(-1, 6),
        status=np.array([str(n.status) for n in nuclei], dtype=object),
        confidence=np.array([np.nan if n.confidence is None else n.confidence for n in nuclei]),
        tags=[n.tags for n in nuclei],
        parent=parent,
        link_confidence=link_q,
        link_status=link_status,
        n_children=np.bincount(parent[parent >= 0], minlength=len(ids)),
        two_d=two_d,
    )


@dataclass(frozen=True)
class Table:
    """Named columns of equal length, written as CSV."""

    name: str
    columns: dict[str, np.ndarray | list]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()), []))

    def rows(self) -> Iterator[list]:
        for i in range(len(self)):
            yield [csv_cell(col[i]) for col in self.columns.values()]

    def write_csv(self, path: str | os.PathLike) -> Path:
        """Write atomically (a temporary file, then renamed); returns the path."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(list(self.columns))
            writer.writerows(self.rows())
        os.replace(tmp, path)
        return path


def csv_cell(value: object) -> object:
    """A CSV cell: empty for a missing number, floats to 6 significant digits."""
    if isinstance(value, float | np.floating):
        return "" if not np.isfinite(value) else f"{float(value):.6g}"
    return value.item() if isinstance(value, np.generic) else value


def sizes(lin: Lineage) -> tuple[str, np.ndarray]:
    """("volume", µm³) in 3D or ("area", µm²) in 2D, per nucleus."""
    if lin.two_d:
        return "area", flat_area(lin.six)
    return "volume", six_volume(lin.six)


def nuclei_table(lin: Lineage) -> Table:
    """One row per nucleus of the lineage."""
    size_name, size = sizes(lin)
    parent = np.where(lin.parent >= 0, lin.ids[np.maximum(lin.parent, 0)], NONE)
    z, y, x = lin.centers.T
    columns = {
        "id": lin.ids, "t": lin.t, "z_um": z, "y_um": y, "x_um": x,
        "radius_um": equal_volume_radius(lin.six), f"{size_name}_um{3 - lin.two_d}": size,
        "status": lin.status, "confidence": lin.confidence, "parent": parent,
        "link_confidence": lin.link_confidence, "track": lin.ids[lin.track_first],
        "generation": lin.generation, "speed_um_per_t": lin.speed,
        "tags": [";".join(sorted(t)) for t in lin.tags],
    }  # fmt: skip
    return Table("nuclei", columns)


def tracks_table(lin: Lineage) -> Table:
    """One row per track (a run of nuclei between divisions)."""
    first = lin.track_first
    order = np.lexsort((lin.t, first))
    starts, counts = np.unique(first[order], return_counts=True)
    ends = order[np.cumsum(counts) - 1]  # the last nucleus of each track
    mother = lin.parent[starts]
    born = mother >= 0
    divides = lin.n_children[ends] == 2
    cycle = np.where(born & divides, lin.t[ends] - lin.t[np.maximum(mother, 0)], NONE)
    last = lin.t[ends] == lin.t.max(initial=-1)
    end_kind = np.where(divides, "division", np.where(last, "last t", "end"))
    size_name, size = sizes(lin)
    columns = {
        "track": lin.ids[starts], "first": lin.ids[starts], "last": lin.ids[ends],
        "t_start": lin.t[starts], "t_end": lin.t[ends], "n_nuclei": counts,
        "parent_track": np.where(born, lin.ids[first[np.maximum(mother, 0)]], NONE),
        "generation": lin.generation[starts], "ends_in": end_kind,
        "cycle_length_t": cycle,
        "mean_speed_um_per_t": _group_mean(lin.speed, first, starts),
        f"mean_{size_name}_um{3 - lin.two_d}": _group_mean(size, first, starts),
        "n_accepted": _group_mean(lin.status == "accepted", first, starts) * counts,
    }  # fmt: skip
    columns["n_accepted"] = np.rint(columns["n_accepted"]).astype(np.int64)
    for name in tag_sets(lin):
        columns[f"tag:{name}"] = _track_values(tag_values(lin, name), first, starts)
    return Table("tracks", columns)


def tag_sets(lin: Lineage) -> list[str]:
    """The tag sets valued among the lineage's nuclei (``SET=VALUE`` tags)."""
    return set_names(lin.tags)


def tag_values(lin: Lineage, set_name: str) -> np.ndarray:
    """Each nucleus' value in ``set_name`` ("" for none)."""
    return np.array([value_of(t, set_name) or "" for t in lin.tags], dtype=object)


def _track_values(values: np.ndarray, first: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per track, the value most of its nuclei carry ("" when none carries one)."""
    counts: dict[int, Counter] = {}
    for row, value in zip(first.tolist(), values.tolist(), strict=True):
        if value:
            counts.setdefault(row, Counter())[value] += 1
    out = [counts[s].most_common(1)[0][0] if s in counts else "" for s in starts.tolist()]
    return np.array(out, dtype=object)


def _group_mean(values: np.ndarray, group: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Mean of the finite ``values`` per group row in ``keys`` (nan for none)."""
    v = np.asarray(values, np.float64)
    ok = np.isfinite(v)
    total = np.bincount(group[ok], weights=v[ok], minlength=len(v))
    n = np.bincount(group[ok], minlength=len(v))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (total / n)[keys]


def divisions_table(lin: Lineage) -> Table:
    """One row per division: the mother (last nucleus before it) and her daughters."""
    mothers = np.flatnonzero(lin.n_children == 2)
    kids = np.flatnonzero(lin.parent >= 0)
    kids = kids[np.isin(lin.parent[kids], mothers)]
    kids = kids[np.lexsort((lin.ids[kids], lin.parent[kids]))].reshape(-1, 2)
    a, b = kids[:, 0], kids[:, 1]
    m = lin.parent[a]
    r = equal_volume_radius(lin.six)
    sep = np.linalg.norm(lin.centers[a] - lin.centers[b], axis=1)
    both = (lin.link_status[a] == "accepted") & (lin.link_status[b] == "accepted")
    columns = {
        "mother": lin.ids[m], "t": lin.t[m], "daughter_a": lin.ids[a], "daughter_b": lin.ids[b],
        "mother_track": lin.ids[lin.track_first[m]], "generation": lin.generation[m],
        "separation_um": sep,
        "sister_size_ratio": np.minimum(r[a], r[b]) / np.maximum(r[a], r[b]),
        "confidence": np.fmin(lin.link_confidence[a], lin.link_confidence[b]),
        "status": np.where(both, "accepted", "predicted"),
    }  # fmt: skip
    return Table("divisions", columns)


def looks_flat(graph: TrackingGraph) -> bool:
    """True when every nucleus lies in the z = 0 plane with no z tilt: a 2D movie's
    nuclei (for files that do not say)."""
    nuclei = list(graph.nuclei())
    six = np.array([n.cov for n in nuclei], np.float64).reshape(-1, 6)
    z = np.array([n.center[0] for n in nuclei], np.float64)
    return bool(len(z)) and bool(np.all(z == 0) and np.all(six[:, 1:3] == 0))


def is_2d(graph: TrackingGraph, workspace: Workspace | None = None) -> bool:
    """Whether the lineage is a 2D movie's: its workspace's movie says so; without
    one (a file), or when the movie has moved, its nuclei tell (:func:`looks_flat`)."""
    if workspace is not None:
        try:
            return workspace.open_image().is_2d
        except (ElephantError, OSError):
            pass
    return looks_flat(graph)
