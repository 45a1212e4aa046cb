"""Linking distances that follow the nuclei's size and spacing.

The paper's search and division distances are µm constants tuned for one
embryo; nuclei of 2–15 µm need them scaled.  ``auto`` resolves each from
what the nuclei being linked show: their median lateral radius R
(:func:`~napari_elephant.core.ellipsoid.lateral_radius`) and the median
distance S from a nucleus to its nearest neighbour of the same timepoint.

- ``d_search`` = max(2 R, min(1.5 S, 3 R)): a daughter lands up to about
  one spacing from her mother (the ASTEC lineages: 1.1 S at the 99th
  percentile), and a nucleus that moves less than its spacing can still be
  told from its neighbours.  The spacing does not depend on how large the
  user drew the ellipsoids (halving every radius of the ASTEC lineages cost
  2 R alone a fifth of the divisions, the spacing none) and reaches nuclei
  that move far (the fast_motion preset: link F1 0.49 → 0.81).  Where the
  nuclei are sparse (HeLa: S = 3.6 R) the spacing says nothing about how far
  one moves, and a wider search only offers false nuclei as daughters, so
  it stops at 3 R (detected crowded_dim nuclei: division F1 0.78 → 0.80
  against no cap; 2 R loses fast_motion and the halved ASTEC radii);
- ``d_disp`` = ``d_dist`` = R / 3 (the paper's 1 µm for its ~3 µm nuclei).

A number typed by the user is used as it is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np
from scipy.spatial import cKDTree

from napari_elephant.core.ellipsoid import median_lateral_radius
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Nucleus, TrackingGraph
from napari_elephant.core.params import LinkingParams

D_SEARCH_FRACTION = 2.0  # of the median lateral radius
D_SEARCH_SPACINGS = 1.5  # of the median nearest-neighbour distance
D_SEARCH_MAX_FRACTION = 3.0  # of the median lateral radius: the spacing's reach
D_DIVISION_FRACTION = 1.0 / 3.0
_SIZE_FIELDS = ("d_search", "d_disp", "d_dist")
SPACING_TIMEPOINTS = 64  # timepoints measured at most (evenly spread): the median settles


def median_spacing(nuclei: Iterable[Nucleus]) -> float | None:
    """Median distance (µm) from a nucleus to its nearest neighbour of the same
    timepoint; None when no timepoint holds two nuclei."""
    by_t: dict[int, list] = defaultdict(list)
    for n in nuclei:
        by_t[n.t].append(n.center)
    crowds = [np.asarray(c, np.float64) for _, c in sorted(by_t.items()) if len(c) > 1]
    if not crowds:
        return None
    step = max(1, len(crowds) // SPACING_TIMEPOINTS)
    nearest = [cKDTree(c).query(c, k=2)[0][:, 1] for c in crowds[::step]]
    return float(np.median(np.concatenate(nearest)))


def resolve_linking(params: LinkingParams, nuclei: Iterable[Nucleus]) -> LinkingParams:
    """``params`` with every ``auto`` distance set from the nuclei's median lateral
    radius and spacing (the module docstring)."""
    auto = [name for name in _SIZE_FIELDS if getattr(params, name) == "auto"]
    if not auto:
        return params
    nuclei = list(nuclei)
    radius = median_lateral_radius(nuclei)
    if radius is None or radius <= 0:
        raise InvalidInputError("no nuclei to link: nothing to take the search distance from")
    values = {"d_disp": D_DIVISION_FRACTION * radius, "d_dist": D_DIVISION_FRACTION * radius}
    if "d_search" in auto:  # the spacing is measured only when it is used
        spacing = median_spacing(nuclei) or 0.0
        reach = min(D_SEARCH_SPACINGS * spacing, D_SEARCH_MAX_FRACTION * radius)
        values["d_search"] = max(D_SEARCH_FRACTION * radius, reach)
    return params.model_copy(update={name: values[name] for name in auto})


def nuclei_of(graph: TrackingGraph, timepoints: Iterable[int]) -> list[Nucleus]:
    """The nuclei of some timepoints (what a linking run sees)."""
    return [n for t in timepoints for n in graph.nuclei_at(t)]
