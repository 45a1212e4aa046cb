"""The cells of a CSV table, checked column by column (for :mod:`.csv_io`).

Each column is converted with numpy in one go; when a conversion fails the
error names the file and the spreadsheet row (the header is row 1).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from napari_elephant.core.ellipsoid import flat_cov, positive_definite
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import COV_KEYS, Status, six_to_cov
from napari_elephant.core.tagsets import NAME, SEP

COV_COLUMNS = tuple(f"cov_{k}" for k in COV_KEYS)
CSV_COLUMNS = ("id", "t", "z", "y", "x", *COV_COLUMNS, "parent_id", "status", "confidence")
COV_2D_COLUMNS = ("cov_yy", "cov_yx", "cov_xx")
REQUIRED_COLUMNS = ("id", "t", "y", "x")  # and z, except in a 2D movie's table
TAG_PREFIX = "tag:"  # a tag set's column: "tag:fate", one value (or empty) per nucleus


def read_records(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            records = list(csv.reader(f))
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InvalidInputError(f"{path}: cannot read as CSV ({e})") from None
    if not records or not any(v.strip() for v in records[0]):
        raise InvalidInputError(
            f"{path}, row 1: empty file; expected a header with {', '.join(CSV_COLUMNS)}"
        )
    return [_column_name(v) for v in records[0]], records[1:]


def _column_name(cell: str) -> str:
    """Column names are matched in lower case, but a tag set keeps its own."""
    name = cell.strip()
    if name.lower().startswith(TAG_PREFIX):
        return TAG_PREFIX + name[len(TAG_PREFIX) :].strip()
    return name.lower()


class CsvTable:
    """The cells of a CSV column by column, and the spreadsheet row of each record.

    Columns are converted with numpy in one go (fast on 10⁵ rows); only when
    a conversion fails are the cells looked at one by one to name the row.
    """

    def __init__(self, header: list[str], records: list[list[str]], path: Path) -> None:
        self.path = path
        self.index: dict[str, int] = {}
        for i, name in enumerate(header):
            self.index.setdefault(name, i)
        self.two_d = "z" not in self.index  # a 2D movie's table
        self.cov_columns = COV_2D_COLUMNS if self.two_d else COV_COLUMNS
        self._require()
        kept = [(row, r) for row, r in enumerate(records, start=2) if any(v.strip() for v in r)]
        self.rows = np.array([row for row, _ in kept], dtype=np.int64)
        self.records = [r for _, r in kept]
        self.use_radius = not all(c in self.index for c in self.cov_columns)

    def _require(self) -> None:
        missing = [c for c in REQUIRED_COLUMNS if c not in self.index]
        if "radius" not in self.index and not all(c in self.index for c in self.cov_columns):
            missing += [c for c in self.cov_columns if c not in self.index]
            missing[-1] += " (or radius)"
        if missing:
            raise self.fail(0, f"missing required column(s): {', '.join(missing)}", row=1)

    def fail(self, i: int, message: str, row: int | None = None) -> InvalidInputError:
        row = int(self.rows[i]) if row is None else row
        return InvalidInputError(f"{self.path}, row {row}: {message}")

    def text(self, name: str) -> np.ndarray:
        """Stripped cells of a column ("" where the column or the cell is absent)."""
        i = self.index.get(name)
        cells = [r[i].strip() if i is not None and i < len(r) else "" for r in self.records]
        return np.array(cells, dtype=str)

    def numbers(self, name: str, optional: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Finite floats of a column, and where they are present."""
        cells = self.text(name)
        present = cells != ""
        if not optional and not present.all():
            raise self.fail(int(np.argmin(present)), f"column {name!r} is empty")
        values = np.zeros(len(cells))
        try:
            values[present] = cells[present].astype(np.float64)
        except ValueError:
            i = next(i for i, c in enumerate(cells.tolist()) if c and not is_number(c))
            raise self.fail(i, f"column {name!r} is not a number: {str(cells[i])!r}") from None
        if not np.isfinite(values).all():
            i = int(np.argmin(np.isfinite(values)))
            raise self.fail(i, f"column {name!r} is not a finite number: {str(cells[i])!r}")
        return values, present

    def integers(self, name: str, optional: bool = False) -> tuple[np.ndarray, np.ndarray]:
        values, present = self.numbers(name, optional)
        bad = (values < 0) | (values != np.round(values))
        if bad.any():
            i = int(np.argmax(bad))
            text = str(self.text(name)[i])
            raise self.fail(i, f"column {name!r} must be a non-negative integer, got {text!r}")
        return values.astype(np.int64), present


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def column_or_zero(table: CsvTable, name: str) -> np.ndarray:
    """A coordinate column; z is 0 in a 2D movie's table, which has none."""
    if name == "z" and table.two_d:
        return np.zeros(len(table.records))
    return table.numbers(name)[0]


def covariances(table: CsvTable) -> np.ndarray:
    """(n, 6) µm², from the six (2D: three) columns or from radius; positive definite."""
    if table.use_radius:
        r, _ = table.numbers("radius")
        if (r <= 0).any():
            i = int(np.argmax(r <= 0))
            raise table.fail(i, f"radius must be positive, got {str(table.text('radius')[i])!r}")
        return np.outer(r * r, [1.0, 0.0, 0.0, 1.0, 0.0, 1.0])
    values = np.stack([table.numbers(c)[0] for c in table.cov_columns], axis=1)
    if table.two_d:  # (yy, yx, xx) -> the flat ellipsoid's six values
        yx = values[:, [0, 1, 1, 2]].reshape(-1, 2, 2)
        ok = np.linalg.eigvalsh(yx)[:, 0] > 0 if len(yx) else np.ones(0, bool)
        six = flat_cov(yx)[:, [0, 0, 0, 1, 1, 2], [0, 1, 2, 1, 2, 2]]
    else:
        six = values
        ok = positive_definite(six_to_cov(six)) if len(six) else np.ones(0, bool)
    if not ok.all():
        raise table.fail(int(np.argmin(ok)), "covariance is not positive definite")
    return six


def statuses(table: CsvTable) -> list[Status]:
    """Status per row, accepted where the cell or the column is empty."""
    cells = np.char.lower(table.text("status"))
    uniq, inverse = np.unique(cells, return_inverse=True)
    members: list[Status] = []
    for k, text in enumerate(uniq.tolist()):
        try:
            members.append(Status(text) if text else Status.ACCEPTED)
        except ValueError:
            allowed = ", ".join(s.value for s in Status)
            i = int(np.argmax(inverse == k))
            raise table.fail(i, f"unknown status {text!r} (expected one of {allowed})") from None
    return [members[k] for k in inverse.ravel().tolist()]


def confidences(table: CsvTable) -> list[float | None]:
    """Confidence per row, None where the cell or the column is empty; else 0–1."""
    q, present = table.numbers("confidence", optional=True)
    bad = present & ((q < 0) | (q > 1))
    if bad.any():
        i = int(np.argmax(bad))
        text = str(table.text("confidence")[i])
        raise table.fail(i, f"confidence must be between 0 and 1, got {text!r}")
    return [float(v) if h else None for v, h in zip(q.tolist(), present.tolist(), strict=True)]


def tuples(a: np.ndarray) -> list[tuple[float, ...]]:
    """Rows of a 2D array as tuples of Python floats."""
    return list(zip(*a.T.tolist(), strict=True)) if len(a) else []


def tag_sets_of(table: CsvTable) -> list[str]:
    """The tag sets the table has a column for."""
    return [n[len(TAG_PREFIX) :] for n in table.index if n.startswith(TAG_PREFIX)]


def tags(table: CsvTable) -> list[frozenset[str]]:
    """Per row, the ``SET=VALUE`` tags of its non-empty tag-set cells."""
    out: list[set[str]] = [set() for _ in table.records]
    for name in tag_sets_of(table):
        if not NAME.match(name):
            raise table.fail(0, f"tag set {name!r}: a name without '=', ',' or ';'", row=1)
        for i, value in enumerate(table.text(TAG_PREFIX + name).tolist()):
            if not value:
                continue
            if not NAME.match(value):
                raise table.fail(i, f"tag {name!r}: value {value!r} has '=', ',' or ';'")
            out[i].add(f"{name}{SEP}{value}")
    return [frozenset(t) for t in out]
