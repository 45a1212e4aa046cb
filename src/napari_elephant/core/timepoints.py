"""Timepoint ranges as users type them (``A:B``), without importing the engines.

The command line parses ``--timepoints`` before it decides whether torch is
needed at all (``link --method nn`` never is), so this lives apart.
"""

from __future__ import annotations

from napari_elephant.core.errors import InvalidInputError


def parse_timepoints(spec: str | None, n_timepoints: int) -> list[int]:
    """``"A:B"`` (B excluded, either side optional), ``"A"``, or None for all."""
    if spec is None or spec.strip() in ("", ":"):
        return list(range(n_timepoints))
    try:
        if ":" in spec:
            a, b = spec.split(":", 1)
            lo, hi = int(a) if a.strip() else 0, int(b) if b.strip() else n_timepoints
        else:
            lo = int(spec)
            hi = lo + 1
    except ValueError:
        raise InvalidInputError(f"timepoints {spec!r}: expected A:B, e.g. 0:10") from None
    if not 0 <= lo < hi <= n_timepoints:
        raise InvalidInputError(f"timepoints {spec!r} are outside the movie's 0:{n_timepoints}")
    return list(range(lo, hi))
