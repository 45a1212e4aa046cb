"""The dock asks what a 3-axis image is (2D movie or 3D stack) and only the y, x pixel
size of a 2D movie."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_elephant._qt import workspace_panel
from napari_elephant._qt.dock import ElephantDock
from napari_elephant._qt.workspace_panel import AxesDialog
from napari_elephant.core.units import VoxelSize

PIXEL = VoxelSize.from_sequence([0.5, 0.25])


@pytest.fixture
def dock(make_napari_viewer, qtbot) -> ElephantDock:
    widget = ElephantDock(make_napari_viewer())
    qtbot.addWidget(widget)
    return widget


def open_tif(dock: ElephantDock, path: Path, **kwargs) -> None:
    tifffile.imwrite(path, np.zeros((5, 16, 20), np.uint16), photometric="minisblack", **kwargs)
    dock.viewer.open(str(path), plugin="napari-elephant")
    dock.workspace_panel.create_path.setText(str(path.with_suffix(".elephant")))


def test_create_asks_2d_or_3d_for_three_unnamed_axes(dock, tmp_path, monkeypatch) -> None:
    asked: list[tuple] = []

    def answer(parent, layer, need_voxel, start):
        asked.append((layer.name, need_voxel))
        return "TYX", PIXEL

    monkeypatch.setattr(workspace_panel, "ask_axes", answer)
    panel = dock.workspace_panel
    open_tif(dock, tmp_path / "flat.tif")
    assert not any(spin.isEnabled() for spin in panel.voxel_spins)  # asked with the axes
    panel.create_button.click()
    assert asked == [("flat", True)]
    ws = dock.session.workspace
    assert ws is not None and ws.voxel_size.as_tuple() == (1.0, 0.5, 0.25)
    assert dock.session.layers["image"].data.shape == (5, 1, 16, 20)


def test_cancelling_the_question_creates_nothing(dock, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(workspace_panel, "ask_axes", lambda *args, **kwargs: None)
    shown: list[str] = []
    monkeypatch.setattr(workspace_panel, "show_error", shown.append)
    open_tif(dock, tmp_path / "flat.tif")
    dock.workspace_panel.create_button.click()
    assert dock.session.workspace is None and shown == []
    assert not (tmp_path / "flat.elephant").exists()


def test_a_named_2d_movie_asks_only_y_and_x(dock, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(workspace_panel, "ask_axes", lambda *a, **k: pytest.fail("asked"))
    panel = dock.workspace_panel
    open_tif(dock, tmp_path / "named.tif", imagej=True, metadata={"axes": "TYX"})
    z, y, x = panel.voxel_spins
    assert not z.isEnabled() and z.value() == 1.0 and y.isEnabled() and x.isEnabled()
    y.setValue(0.5)
    x.setValue(0.25)
    panel.create_button.click()
    assert dock.session.workspace.voxel_size.as_tuple() == (1.0, 0.5, 0.25)


def test_the_dialog_hides_z_for_a_2d_movie(qtbot) -> None:
    dialog = AxesDialog("flat", (5, 16, 20), need_voxel=True, start=(2.0, 0.5, 0.25))
    qtbot.addWidget(dialog)
    assert dialog.movie_2d.isChecked() and dialog.spins[0].isHidden()
    assert dialog.answer() == ("TYX", PIXEL)
    dialog.stack_3d.setChecked(True)
    assert not dialog.spins[0].isHidden()
    assert dialog.answer() == ("ZYX", VoxelSize(2.0, 0.5, 0.25))


def test_the_dialog_asks_no_size_when_the_file_has_one(qtbot) -> None:
    dialog = AxesDialog("flat", (5, 16, 20), need_voxel=False)
    qtbot.addWidget(dialog)
    assert dialog.size_box.isHidden()
    dialog.stack_3d.setChecked(True)
    assert dialog.answer() == ("ZYX", None)
