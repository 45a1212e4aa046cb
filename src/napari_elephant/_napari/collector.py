"""Keep a big lineage out of the cyclic garbage collector's full passes.

A workspace of 300k nuclei holds ~1.6M objects the collector tracks (records,
networkx's dicts); every full pass walks them all: 0.45 s, at moments nobody
chose (during an open it landed in whatever ran next, 0.01-0.83 s of reading
the contrast; in a session, a frozen viewer).  The records live as long as the
workspace and are freed by reference counting, not by the collector, so once
a big graph is loaded the session moves every object there is to the
collector's permanent generation (``gc.freeze``) and puts them back
(``gc.unfreeze``) when it lets the workspace go.  Small graphs are left alone:
their passes are short.
"""

from __future__ import annotations

import gc

FREEZE_MIN_NUCLEI = 20_000
"""Nuclei from which a loaded graph is kept out of full passes (~75 ms a pass there)."""

_STATE = {"frozen": False}


def settle(n_nuclei: int) -> bool:
    """After loading a graph of ``n_nuclei``: freeze what the collector tracks
    when the graph is big; True when it did."""
    if n_nuclei < FREEZE_MIN_NUCLEI:
        return False
    gc.freeze()
    _STATE["frozen"] = True
    return True


def release() -> None:
    """Let the collector see everything again (a workspace is let go)."""
    if _STATE["frozen"]:
        gc.unfreeze()
        _STATE["frozen"] = False
