"""Linking nuclei across timepoints (DESIGN §5): nearest neighbour, global, gaps.

The linkers work on one pair of consecutive timepoints at a time
(:class:`FramePair`, plain arrays in µm) and return proposed
``(parent_id, child_id)`` links; :mod:`.apply` turns the graph into frame
pairs under the human-decision rules and applies the result as one undoable
action.
"""

from napari_elephant.core.linking.apply import (
    LinkPlan,
    LinkResult,
    apply_plan,
    interpolate,
    link_round,
    plan_links,
    wants_flow,
)
from napari_elephant.core.linking.estimator import PositionEstimator, identity_estimator
from napari_elephant.core.linking.global_ import global_link
from napari_elephant.core.linking.nn import nn_link
from napari_elephant.core.linking.problem import FramePair

__all__ = [
    "FramePair",
    "LinkPlan",
    "LinkResult",
    "PositionEstimator",
    "apply_plan",
    "global_link",
    "identity_estimator",
    "interpolate",
    "link_round",
    "nn_link",
    "plan_links",
    "wants_flow",
]
