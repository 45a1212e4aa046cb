"""Linking distances that follow the nuclei's size.

The paper's search and division distances are µm constants tuned for one
embryo; nuclei of 2–15 µm need them scaled.  ``auto`` resolves each to a
fraction of the median lateral radius R of the nuclei being linked
(:func:`~napari_elephant.core.ellipsoid.lateral_radius`): ``d_search`` = 2 R
(in the real and synthetic lineages measured, interphase steps stay under
R at the 99th percentile and daughters land up to ~1.9 R from their mother,
docs/linking.md), ``d_disp`` = ``d_dist`` = R / 3 (the paper's 1 µm for its
~3 µm nuclei).  A number typed by the user is used as it is.
"""

from __future__ import annotations

from collections.abc import Iterable

from napari_elephant.core.ellipsoid import median_lateral_radius
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Nucleus, TrackingGraph
from napari_elephant.core.params import LinkingParams

D_SEARCH_FRACTION = 2.0
D_DIVISION_FRACTION = 1.0 / 3.0
_SIZE_FIELDS = {"d_search": D_SEARCH_FRACTION, "d_disp": D_DIVISION_FRACTION}
_SIZE_FIELDS["d_dist"] = D_DIVISION_FRACTION


def resolve_linking(params: LinkingParams, nuclei: Iterable[Nucleus]) -> LinkingParams:
    """``params`` with every ``auto`` distance set from the nuclei's median lateral radius."""
    auto = [name for name in _SIZE_FIELDS if getattr(params, name) == "auto"]
    if not auto:
        return params
    radius = median_lateral_radius(nuclei)
    if radius is None or radius <= 0:
        raise InvalidInputError("no nuclei to link: nothing to take the search distance from")
    return params.model_copy(update={name: _SIZE_FIELDS[name] * radius for name in auto})


def nuclei_of(graph: TrackingGraph, timepoints: Iterable[int]) -> list[Nucleus]:
    """The nuclei of some timepoints (what a linking run sees)."""
    return [n for t in timepoints for n in graph.nuclei_at(t)]
