"""A big loaded lineage is kept out of the collector's full passes while it is open."""

from __future__ import annotations

import gc

import pytest

from napari_elephant._napari import collector
from napari_elephant._napari.session import session_for


@pytest.fixture
def unfrozen():
    """Whatever a test froze is handed back to the collector."""
    yield
    collector.release()
    gc.unfreeze()


def test_small_graphs_are_left_to_the_collector(unfrozen) -> None:
    before = gc.get_freeze_count()
    assert not collector.settle(collector.FREEZE_MIN_NUCLEI - 1)
    assert gc.get_freeze_count() == before


def test_a_big_graph_is_frozen_until_released(unfrozen) -> None:
    assert collector.settle(collector.FREEZE_MIN_NUCLEI)
    assert gc.get_freeze_count() > 0
    collector.release()
    assert gc.get_freeze_count() == 0
    collector.release()  # twice is harmless


def test_the_session_freezes_on_open_and_releases_on_close(
    make_napari_viewer, workspace, monkeypatch, unfrozen
) -> None:
    monkeypatch.setattr(collector, "FREEZE_MIN_NUCLEI", 1)
    session = session_for(make_napari_viewer())
    session.open_workspace(workspace)
    assert gc.get_freeze_count() > 0 and gc.isenabled()  # the load's pause is over
    session.close()
    assert gc.get_freeze_count() == 0
