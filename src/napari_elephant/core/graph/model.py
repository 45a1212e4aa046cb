"""The records of the tracking graph: nuclei and links, immutable values.

A nucleus is an ellipsoid at one timepoint: the set of points ``x`` with
``(x - center)ᵀ cov⁻¹ (x - center) ≤ 1``, so a sphere of radius ``r`` has
``cov = r² I`` and the semi-axes are the square roots of the eigenvalues.
Everything is in micrometres (centre) and µm² (covariance), axes (z, y, x).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

import numpy as np

from napari_elephant.core.ellipsoid import flat_cov
from napari_elephant.core.errors import GraphError

Vec3 = tuple[float, float, float]
Cov6 = tuple[float, float, float, float, float, float]
NO_TAGS: frozenset[str] = frozenset()

# Upper-triangle order of the six covariance entries (matches the CSV columns).
COV_KEYS = ("zz", "zy", "zx", "yy", "yx", "xx")
_TRIU = (np.array([0, 0, 0, 1, 1, 2]), np.array([0, 1, 2, 1, 2, 2]))


class Status(str, Enum):
    """Validation state: ELEPHANT's true (accepted) and false (rejected) annotations."""

    PREDICTED = "predicted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"

    def __str__(self) -> str:
        return self.value


STATUS_ORDER: tuple[Status, ...] = tuple(Status)
"""The order of statuses wherever they are int8 codes (layouts, tallies, colours)."""
STATUS_CODE: dict[Status, int] = {s: i for i, s in enumerate(STATUS_ORDER)}


class Origin(str, Enum):
    """Who created a nucleus: the user or the detection model."""

    MANUAL = "manual"
    PREDICTED = "predicted"

    def __str__(self) -> str:
        return self.value


def parse_status(value: Any) -> Status:
    """Status from a string (case-insensitive) or a Status; clear error otherwise."""
    try:
        return Status(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(s.value for s in Status)
        raise GraphError(f"unknown status {value!r} (expected one of {allowed})") from None


def cov_to_six(matrix: np.ndarray) -> Cov6:
    """3×3 symmetric matrix -> its six upper-triangle entries (zz, zy, zx, yy, yx, xx)."""
    m = np.asarray(matrix, dtype=np.float64)
    return tuple(float(v) for v in m[_TRIU])  # type: ignore[return-value]


def six_to_cov(six: Sequence[float] | np.ndarray) -> np.ndarray:
    """Six upper-triangle entries (..., 6) -> symmetric matrices (..., 3, 3)."""
    s = np.asarray(six, dtype=np.float64)
    out = np.empty((*s.shape[:-1], 3, 3), dtype=np.float64)
    out[..., _TRIU[0], _TRIU[1]] = s
    out[..., _TRIU[1], _TRIU[0]] = s
    return out


def sphere_cov(radius: float) -> Cov6:
    """Covariance of a sphere of the given radius (µm)."""
    r2 = float(radius) ** 2
    return (r2, 0.0, 0.0, r2, 0.0, r2)


def check_cov(six: Sequence[float]) -> Cov6:
    """Validate a covariance: finite, symmetric positive definite."""
    vals = tuple(float(v) for v in six)
    if len(vals) != 6:
        raise GraphError(f"a covariance needs 6 values, got {len(vals)}")
    if not all(np.isfinite(vals)):
        raise GraphError("covariance has non-finite values")
    if np.linalg.eigvalsh(six_to_cov(vals)).min() <= 0:
        raise GraphError("covariance is not positive definite")
    return vals  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Nucleus:
    """One nucleus (an ellipsoid) at one timepoint.

    ``confidence`` is what the detection network thought of a predicted nucleus
    (in [0, 1], kept when it is accepted); None for manual nuclei and files
    that do not carry it.
    """

    id: int
    t: int
    center: Vec3
    cov: Cov6
    status: Status = Status.ACCEPTED
    origin: Origin = Origin.MANUAL
    tags: frozenset[str] = field(default=NO_TAGS)
    confidence: float | None = None

    def __post_init__(self) -> None:
        # bulk loaders build records directly: accept plain strings, store enums
        if not isinstance(self.status, Status):
            object.__setattr__(self, "status", parse_status(self.status))
        if not isinstance(self.origin, Origin):
            object.__setattr__(self, "origin", Origin(str(self.origin)))

    @property
    def cov_matrix(self) -> np.ndarray:
        """The 3×3 covariance (µm²)."""
        return six_to_cov(self.cov)

    @property
    def radii(self) -> np.ndarray:
        """Semi-axis lengths (µm), ascending."""
        return np.sqrt(np.linalg.eigvalsh(self.cov_matrix))

    @property
    def radius(self) -> float:
        """Radius of the sphere of equal volume (µm)."""
        return float(np.prod(self.radii) ** (1.0 / 3.0))

    def with_(self, **changes: Any) -> Nucleus:
        """A copy with some fields changed (the id and t stay)."""
        if "id" in changes or "t" in changes:
            raise GraphError("a nucleus keeps its id and timepoint; delete and add instead")
        return replace(self, **changes)


def make_nucleus(
    id: int,
    t: int,
    center: Iterable[float],
    cov: Sequence[float] | np.ndarray | None = None,
    radius: float | None = None,
    status: Status | str = Status.ACCEPTED,
    origin: Origin | str = Origin.MANUAL,
    tags: Iterable[str] = (),
    confidence: float | None = None,
) -> Nucleus:
    """Validated constructor: accepts a 3×3 or six-value covariance, or a radius."""
    c = tuple(float(v) for v in center)
    if len(c) != 3 or not all(np.isfinite(c)):
        raise GraphError(f"nucleus {id}: centre must be 3 finite numbers (z, y, x), got {c}")
    if int(t) != t or t < 0:
        raise GraphError(f"nucleus {id}: timepoint must be a non-negative integer, got {t}")
    if cov is None:
        if radius is None or not radius > 0:
            raise GraphError(f"nucleus {id}: give a covariance or a positive radius")
        six = sphere_cov(radius)
    else:
        arr = np.asarray(cov, dtype=np.float64)
        six = cov_to_six(arr) if arr.shape == (3, 3) else tuple(arr.ravel())
    return Nucleus(
        id=int(id),
        t=int(t),
        center=c,  # type: ignore[arg-type]
        cov=check_cov(six),
        status=parse_status(status),
        origin=Origin(str(origin)),
        tags=frozenset(tags) or NO_TAGS,
        confidence=check_confidence(confidence, id),
    )


def check_confidence(value: float | None, nid: int = 0) -> float | None:
    """None, or a finite number in [0, 1] (a mean of probabilities)."""
    if value is None:
        return None
    q = float(value)
    if not (np.isfinite(q) and 0.0 <= q <= 1.0):
        raise GraphError(f"nucleus {nid}: confidence must be a number in [0, 1], got {value!r}")
    return q


def flatten_to_2d(nucleus: Nucleus) -> Nucleus:
    """The nucleus as a 2D movie holds it: centre z = 0, covariance from its (y, x)
    block by :func:`~napari_elephant.core.ellipsoid.flat_cov`; every 2D importer
    goes through here so that 2D nuclei look the same whatever file they came from."""
    _z, y, x = nucleus.center
    cov = flat_cov(six_to_cov(nucleus.cov)[1:, 1:])
    flat = replace(nucleus, center=(0.0, float(y), float(x)), cov=cov_to_six(cov))
    return flat if flat != nucleus else nucleus


@dataclass(frozen=True, slots=True)
class Link:
    """A directed link from a parent nucleus to a later child nucleus.

    ``confidence`` is what the linker thought of a link it proposed (in
    [0, 1], kept when the link is accepted or rejected); None for links a
    person drew and files that do not carry it.
    """

    parent: int
    child: int
    status: Status = Status.ACCEPTED
    confidence: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.status, Status):
            object.__setattr__(self, "status", parse_status(self.status))
        if self.confidence is not None:
            q = float(self.confidence)
            if not (np.isfinite(q) and 0.0 <= q <= 1.0):
                raise GraphError(
                    f"link {self.parent} → {self.child}: confidence must be a number in "
                    f"[0, 1], got {self.confidence!r}"
                )
            object.__setattr__(self, "confidence", q)

    @property
    def key(self) -> tuple[int, int]:
        return (self.parent, self.child)


@dataclass(frozen=True)
class LinkColumns:
    """Many links as columns, for loading a file's links without a record per link.

    ``statuses`` are :class:`Status` members; ``confidences`` are None or numbers
    in [0, 1] (the reader has checked them, as :class:`Link` would).  A reader
    that knows the timepoints of each link's ends gives them (``t_parent``,
    ``t_child``); else the graph looks them up.
    """

    parents: np.ndarray  # int64 ids
    children: np.ndarray
    statuses: Sequence[Status]
    confidences: Sequence[float | None]
    t_parent: np.ndarray | None = None
    t_child: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.parents)
        if not (len(self.children) == len(self.statuses) == len(self.confidences) == n):
            raise GraphError("link columns must all have the same length")

    def __len__(self) -> int:
        return len(self.parents)

    @classmethod
    def of(cls, links: Iterable[Link]) -> LinkColumns:
        """The columns of some link records."""
        links = tuple(links)
        return cls(
            _id_column([lk.parent for lk in links]),
            _id_column([lk.child for lk in links]),
            [lk.status for lk in links],
            [lk.confidence for lk in links],
        )


def _id_column(ids: list[int]) -> np.ndarray:
    """int64 ids; an id beyond int64 (a damaged file's) stays a Python int, so that the
    graph refuses it as an unknown nucleus rather than overflowing."""
    try:
        return np.asarray(ids, dtype=np.int64)
    except OverflowError:
        return np.asarray(ids, dtype=object)
