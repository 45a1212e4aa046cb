"""One session per viewer, owning its proofreading tools and jobs."""

from __future__ import annotations

import time

from napari_elephant._napari.session import session_for
from napari_elephant.core.graph import Status
from napari_elephant.core.workspace import Workspace


def test_one_session_per_viewer(make_napari_viewer) -> None:
    a, b = make_napari_viewer(), make_napari_viewer()
    assert session_for(a) is session_for(a)
    assert session_for(a) is not session_for(b)


def test_a_dropped_workspace_has_keys_and_autosave_before_any_dock(
    make_napari_viewer, workspace, tmp_path, monkeypatch
) -> None:
    from napari_elephant._napari import session as session_module
    from napari_elephant._napari.autosave import ThreadTimer
    from tests._napari.proofreading_helpers import press

    monkeypatch.setenv("NAPARI_ELEPHANT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(session_module, "AUTOSAVE_DELAY_S", 0.2)
    import napari

    viewer = make_napari_viewer()
    monkeypatch.setattr(napari, "current_viewer", lambda: viewer)  # not an older test's
    viewer.open(str(workspace), plugin="napari-elephant")
    session = session_for(viewer)
    saver = session.proofreading.autosaver  # the reader's
    assert isinstance(saver.timer, ThreadTimer)
    nid = int(session.graph.ids_at(round(viewer.dims.point[0]))[0])
    session.selection.select_one(nid)
    viewer.layers.selection.active = session.layers["nuclei"]
    assert press(viewer, "5")  # reject, with no dock open
    assert session.graph.nucleus(nid).status == Status.REJECTED
    deadline = time.monotonic() + 30  # a loaded CI machine
    while Workspace.open(workspace).graph.nucleus(nid).status != Status.REJECTED:
        assert time.monotonic() < deadline, "not saved by the thread timer"
        time.sleep(0.05)
    assert saver.pending is None


def test_the_session_owns_one_proofreading_and_its_jobs_slot(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    session = session_for(viewer)
    assert session.proofreading is None and session.jobs is None  # nothing bound yet
    p = session.start_proofreading(keymap_path=tmp_path / "keymap.json")
    assert session.start_proofreading() is p and session.start_with_autosave() is p
    assert p.editor.session is session and p.autosaver.session is session
    assert p.keymap.tools.navigator is p.navigator


def test_an_edit_reaches_the_listeners_once_after_the_layers_are_drawn(
    make_napari_viewer, workspace
) -> None:
    """The session passes each action on itself (not the layer sync), after the sync
    has redrawn: a listener reading the nuclei layer sees the edit."""
    from tests._napari.helpers import shown_ids

    viewer = make_napari_viewer()
    session = session_for(viewer)
    graph = session.open_workspace(workspace).graph
    seen: list[list[int]] = []
    session.events.graph_changed.connect(lambda _a: seen.append(shown_ids(session)))
    nid = graph.add_nucleus(0, (5.0, 10.0, 10.0), radius=2.0, status="predicted")
    assert len(seen) == 1 and nid in seen[0]
    session.sync.close()  # drawing stopped: the session still passes actions on
    graph.set_status([nid], "accepted")
    assert len(seen) == 2
