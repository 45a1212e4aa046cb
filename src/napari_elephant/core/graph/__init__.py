"""The tracking graph (DESIGN §3): nuclei, links, events, undoable actions."""

from napari_elephant.core.graph.actions import (
    Action,
    AddLinks,
    AddNuclei,
    Compound,
    RemoveLinks,
    RemoveNuclei,
    UpdateLinks,
    UpdateNuclei,
)
from napari_elephant.core.graph.graph import TrackingGraph
from napari_elephant.core.graph.history import ActionHistory
from napari_elephant.core.graph.model import (
    COV_KEYS,
    Link,
    LinkColumns,
    Nucleus,
    Origin,
    Status,
    cov_to_six,
    make_nucleus,
    parse_status,
    six_to_cov,
    sphere_cov,
)
from napari_elephant.core.graph.store import GraphEvents, GraphStore

__all__ = [
    "COV_KEYS",
    "Action",
    "ActionHistory",
    "AddLinks",
    "AddNuclei",
    "Compound",
    "GraphEvents",
    "GraphStore",
    "Link",
    "LinkColumns",
    "Nucleus",
    "Origin",
    "RemoveLinks",
    "RemoveNuclei",
    "Status",
    "TrackingGraph",
    "UpdateLinks",
    "UpdateNuclei",
    "cov_to_six",
    "make_nucleus",
    "parse_status",
    "six_to_cov",
    "sphere_cov",
]
