"""The order in which a user checks the nuclei of one timepoint.

"Next to check" puts the doubtful predictions first: the network's
confidence ascending, so a weak blob that may not be a nucleus comes before
the bright ones it is sure of.  Nuclei without a confidence (manual ones,
files that do not carry it) come after those with one; ties go by id, so
the order is the same on every call.
"""

from __future__ import annotations

from collections.abc import Iterable

from napari_elephant.core.graph.model import Nucleus


def doubt_key(nucleus: Nucleus) -> tuple[bool, float, int]:
    """Sort key: with a confidence first, then confidence ascending, then id."""
    q = nucleus.confidence
    return (q is None, 0.0 if q is None else q, nucleus.id)


def check_order(nuclei: Iterable[Nucleus]) -> list[int]:
    """Ids of the nuclei, least confident first, those without a confidence last."""
    return [n.id for n in sorted(nuclei, key=doubt_key)]
