"""The tutorial's user: judges what it sees against the ground truth and presses
the keys a person would (N, 4, 5, Alt+4) through the real editor and navigator.

Used by ``scripts/tutorial_screenshots.py``; the ground truth decides only
what a careful person would decide by looking.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MATCH_UM = 3.0  # a prediction this close to a true centre is right


def truth_match(nucleus: Any, truth: Any) -> int | None:
    """The true nucleus this one stands for: the nearest centre within MATCH_UM."""
    near = truth.nuclei_at(nucleus.t)
    dist = [float(np.linalg.norm(np.subtract(n.center, nucleus.center))) for n in near]
    best = int(np.argmin(dist))
    return near[best].id if dist[best] <= MATCH_UM else None


def is_true(nucleus: Any, graph: Any, truth: Any) -> bool:
    """Right if it stands for a true nucleus that no accepted one covers yet
    (a prediction beside a nucleus you added is a duplicate)."""
    from napari_elephant.core.graph import Status

    match = truth_match(nucleus, truth)
    taken = {
        truth_match(n, truth)
        for n in graph.nuclei_at(nucleus.t)
        if n.status == Status.ACCEPTED and n.id != nucleus.id
    }
    return match is not None and match not in taken


def proofread(tools: Any, truth: Any, until: int, picture: Any = None) -> int:
    """N, look, 4 or 5, over the timepoints before ``until``; returns how many were
    checked.  ``picture(nucleus)`` is offered each nucleus before it is judged."""
    from napari_elephant.core.graph import Status

    graph = tools.session.graph
    checked = 0
    while any(n.status == Status.PREDICTED for n in graph.nuclei() if n.t < until):
        tools.navigator.next_predicted()  # N
        nucleus = graph.nucleus(tools.session.selection.current)
        if nucleus.t >= until:
            break
        if picture is not None:
            picture(nucleus, checked)
        right = is_true(nucleus, graph, truth)
        tools.editor.set_status(Status.ACCEPTED if right else Status.REJECTED)  # 4 or 5
        checked += 1
    return checked


def accept_links(tools: Any, truth: Any, until: int) -> int:
    """Alt+4 on each checked nucleus whose link to its parent is right."""
    from napari_elephant.core.graph import Status

    graph, accepted = tools.session.graph, 0
    for n in [n for n in graph.nuclei() if 0 < n.t < until and n.status == Status.ACCEPTED]:
        parent = graph.parent(n.id)
        child_match = truth_match(n, truth)
        if parent is None or child_match is None:
            continue
        if truth.parent(child_match) == truth_match(graph.nucleus(parent), truth):
            tools.session.selection.select_one(n.id)
            tools.editor.set_link_status(Status.ACCEPTED)  # Alt+4
            accepted += 1
    tools.session.selection.clear()
    print(f"accepted {accepted} links at t < {until}")
    return accepted
