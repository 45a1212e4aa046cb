"""The track table of the Cell Tracking Challenge format (``res_track.txt``, ``man_track.txt``).

One track per line, four non-negative integers separated by spaces:
``L B E P`` — the track's label in the label images, its first and last
frame (0-based, inclusive) and the label of its parent track (0: none).
A daughter track starts after its parent has ended, and (as in our graph)
a track has at most two daughters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from napari_elephant.core.errors import InvalidInputError

TRACK_FILES = ("res_track.txt", "man_track.txt")
GROUND_TRUTH_FOLDER = "TRA"


@dataclass(frozen=True)
class CtcTrack:
    """One line of a CTC track table."""

    label: int
    begin: int
    end: int
    parent: int = 0

    def line(self) -> str:
        return f"{self.label} {self.begin} {self.end} {self.parent}"


def find_track_file(folder: Path) -> Path | None:
    """The track table of a CTC folder, or of its ``TRA`` subfolder (ground truth)."""
    for where in (folder, folder / GROUND_TRUTH_FOLDER):
        found = [where / name for name in TRACK_FILES if (where / name).is_file()]
        if len(found) > 1:
            raise InvalidInputError(f"{where}: holds both {TRACK_FILES[0]} and {TRACK_FILES[1]}")
        if found:
            return found[0]
    return None


def write_track_file(path: Path, tracks: Iterable[CtcTrack]) -> None:
    text = "".join(track.line() + "\n" for track in tracks)
    path.write_text(text, encoding="ascii")


def read_track_file(path: Path) -> dict[int, CtcTrack]:
    """Parse and check a track table; errors name the file and the line."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path}: cannot read the track file ({exc})") from None
    tracks: dict[int, CtcTrack] = {}
    rows: dict[int, int] = {}
    for row, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        track = _parse_line(text, f"{path}, line {row}")
        if track.label in tracks:
            raise InvalidInputError(
                f"{path}, line {row}: track {track.label} is listed twice (first on line "
                f"{rows[track.label]})"
            )
        tracks[track.label], rows[track.label] = track, row
    _check_parents(tracks, rows, path)
    return tracks


def _parse_line(text: str, where: str) -> CtcTrack:
    cells = text.split()
    if len(cells) != 4:
        raise InvalidInputError(f"{where}: expected 4 numbers 'L B E P', got {text.strip()!r}")
    try:
        label, begin, end, parent = (int(c) for c in cells)
    except ValueError:
        raise InvalidInputError(f"{where}: not integers: {text.strip()!r}") from None
    if label < 1 or min(begin, end, parent) < 0:
        raise InvalidInputError(f"{where}: labels must be positive and frames non-negative")
    if end < begin:
        raise InvalidInputError(
            f"{where}: track {label} ends (frame {end}) before it begins ({begin})"
        )
    if parent == label:
        raise InvalidInputError(f"{where}: track {label} is its own parent")
    return CtcTrack(label, begin, end, parent)


def _check_parents(tracks: dict[int, CtcTrack], rows: dict[int, int], path: Path) -> None:
    daughters: Counter[int] = Counter()
    for track in tracks.values():
        if not track.parent:
            continue
        where = f"{path}, line {rows[track.label]}"
        parent = tracks.get(track.parent)
        if parent is None:
            raise InvalidInputError(f"{where}: parent track {track.parent} is not in the file")
        if parent.end >= track.begin:
            raise InvalidInputError(
                f"{where}: track {track.label} begins at frame {track.begin}, before its "
                f"parent {parent.label} ends (frame {parent.end})"
            )
        daughters[parent.label] += 1
        if daughters[parent.label] > 2:
            raise InvalidInputError(f"{where}: track {parent.label} has more than two daughters")
