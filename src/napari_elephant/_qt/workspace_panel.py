"""The Workspace section of the ELEPHANT dock: open, create, save, undo, counters.

Thin by design: each button reads its inputs, calls one session function and
shows the result; the session's events keep the labels up to date.
"""

from __future__ import annotations

from typing import Any

from napari.layers import Image
from napari.utils.notifications import show_error
from qtpy.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from napari_elephant._napari.session import ElephantSession
from napari_elephant._napari.viewer_workspace import layer_needs_axes, layer_voxel_size
from napari_elephant._qt.panel_tools import button, row, run_reporting
from napari_elephant.core.graph.model import STATUS_ORDER
from napari_elephant.core.io.image import AXES_2D_MOVIE, AXES_3D_STACK
from napari_elephant.core.units import VoxelSize

COUNTERS = (*(s.value for s in STATUS_ORDER), "links")


class WorkspacePanel(QWidget):
    """Open or create a workspace; see its image, voxel size and counts; save, undo."""

    def __init__(self, session: ElephantSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        layout = QVBoxLayout(self)
        layout.addWidget(self._open_box())
        layout.addWidget(self._create_box())
        layout.addWidget(self._info_box())
        layout.addLayout(self._edit_row())
        layout.addStretch(1)
        self._connect()
        self.update_layer_choices()
        self.update_info()

    # ------------------------------------------------------------ build
    def _open_box(self) -> QGroupBox:
        box = QGroupBox("Open workspace")
        self.open_path = QLineEdit()
        self.open_path.setPlaceholderText("path/to/project.elephant")
        self.open_button = button("Open", self.open_workspace, "Open the workspace at this path")
        browse = button("Browse…", self._browse_open)
        QVBoxLayout(box).addLayout(row(self.open_path, browse, self.open_button))
        return box

    def _create_box(self) -> QGroupBox:
        box = QGroupBox("New workspace from an image layer")
        form = QFormLayout(box)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.layer_combo = QComboBox()
        self.layer_combo.currentTextChanged.connect(self._on_layer_choice)
        form.addRow("Image layer", self.layer_combo)
        self.voxel_spins = [voxel_spin() for _ in "zyx"]
        form.addRow("Voxel z, y, x (µm)", row(*self.voxel_spins))
        self.create_path = QLineEdit()
        self.create_path.setPlaceholderText("path/to/new.elephant")
        self.create_button = button("Create", self.create_workspace, "Create the workspace")
        form.addRow(row(self.create_path, button("Browse…", self._browse_create)))
        form.addRow(self.create_button)
        return box

    def _info_box(self) -> QGroupBox:
        box = QGroupBox("Current workspace")
        form = QFormLayout(box)
        self.workspace_label, self.image_label, self.voxel_label = QLabel(), QLabel(), QLabel()
        for label in (self.workspace_label, self.image_label):
            label.setWordWrap(True)
        form.addRow("Workspace", self.workspace_label)
        form.addRow("Image", self.image_label)
        form.addRow("Voxel size", self.voxel_label)
        self.counter_labels = {name: QLabel("0") for name in COUNTERS}
        for name, label in self.counter_labels.items():
            form.addRow(name.capitalize() if name == "links" else f"Nuclei {name}", label)
        return box

    def _edit_row(self) -> QHBoxLayout:
        self.save_button = button("Save", self.save, "Save the workspace now")
        self.undo_button = button("Undo", self.undo, "Undo the last edit")
        self.redo_button = button("Redo", self.redo, "Redo the last undone edit")
        return row(self.save_button, self.undo_button, self.redo_button)

    def _connect(self) -> None:
        events = self.session.events
        layers = self.session.viewer.layers.events
        pairs = [
            (events.workspace_changed, self.update_info),
            (events.graph_changed, self.update_info),
            (layers.inserted, self.update_layer_choices),
            (layers.removed, self.update_layer_choices),
        ]
        for signal, slot in pairs:
            signal.connect(slot)

        def disconnect(*_: Any) -> None:  # the Qt widget is gone: stop the callbacks
            for signal, slot in pairs:
                signal.disconnect(slot)

        self.destroyed.connect(disconnect)

    # ---------------------------------------------------------- actions
    def open_workspace(self) -> None:
        run_reporting(lambda: self.session.open_workspace(self.open_path.text().strip()))

    def create_workspace(self) -> None:
        layer = self.selected_image_layer()
        if layer is None:
            show_error("no image layer to make a workspace from; open a movie first")
            return
        path = self.create_path.text().strip()
        if not path:
            show_error("give a path for the new workspace (e.g. embryo.elephant)")
            return
        axes, voxel = None, None
        known = layer_voxel_size(layer) is not None
        if layer_needs_axes(layer):  # 2D movie or 3D stack: only the user knows
            answer = ask_axes(self, layer, need_voxel=not known, start=self._spin_values())
            if answer is None:
                return
            axes, voxel = answer
        elif not known:
            voxel = VoxelSize(*self._spin_values())
        run_reporting(lambda: self.session.create_workspace(path, layer, voxel, False, axes))

    def _spin_values(self) -> tuple[float, float, float]:
        z, y, x = (spin.value() for spin in self.voxel_spins)
        return (z, y, x)

    def save(self) -> None:
        run_reporting(self.session.save)

    def undo(self) -> None:
        run_reporting(self.session.start_proofreading().editor.undo)

    def redo(self) -> None:
        run_reporting(self.session.start_proofreading().editor.redo)

    def _browse_open(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open ELEPHANT workspace")
        if path:
            self.open_path.setText(path)
            self.open_workspace()

    def _browse_create(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "New workspace", "", "Workspace (*.elephant)")
        if path:
            self.create_path.setText(path if path.endswith(".elephant") else path + ".elephant")

    # ---------------------------------------------------------- display
    def selected_image_layer(self) -> Image | None:
        name = self.layer_combo.currentText()
        layers = self.session.viewer.layers
        return layers[name] if name in layers and isinstance(layers[name], Image) else None

    def update_layer_choices(self, *_: Any) -> None:
        """List the image layers; keep the choice, else prefer the active layer."""
        viewer = self.session.viewer
        names = [layer.name for layer in viewer.layers if isinstance(layer, Image)]
        current = self.layer_combo.currentText()
        active = viewer.layers.selection.active
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        self.layer_combo.addItems(names)
        self.layer_combo.blockSignals(False)
        if current in names:
            self.layer_combo.setCurrentText(current)
        elif isinstance(active, Image):
            self.layer_combo.setCurrentText(active.name)
        self._on_layer_choice(self.layer_combo.currentText())

    def _on_layer_choice(self, _name: str) -> None:
        """Voxel size boxes: filled from the layer when known, editable when not; a 2D
        movie's z is not asked (nominal 1 µm), and a 3-axis layer's size is asked
        with its axes when Create is pressed."""
        layer = self.selected_image_layer()
        voxel = layer_voxel_size(layer) if layer is not None else None
        for spin, value in zip(self.voxel_spins, voxel.as_tuple() if voxel else (), strict=False):
            spin.setValue(value)
        editable = layer is not None and voxel is None and not layer_needs_axes(layer)
        flat = layer is not None and layer.ndim == 4 and layer.data.shape[1] == 1
        if flat:
            self.voxel_spins[0].setValue(1.0)
        ask = layer is not None and layer_needs_axes(layer)
        hint = "asked on Create, with whether it is a 2D movie or a 3D stack" if ask else ""
        for i, spin in enumerate(self.voxel_spins):
            spin.setEnabled(editable and not (flat and i == 0))
            spin.setToolTip(hint)

    def update_info(self, *_: Any) -> None:
        """Workspace, image, voxel size, counters and undo/redo availability."""
        ws = self.session.workspace
        self.workspace_label.setText(str(ws.path) if ws else "none open")
        self.image_label.setText(str(ws.image_path()) if ws else "")
        self.voxel_label.setText(
            " × ".join(f"{v:g}" for v in ws.voxel_size.as_tuple()) + " µm" if ws else ""
        )
        for name, count in self.session.counts().items():
            self.counter_labels[name].setText(str(count))
        self.save_button.setEnabled(ws is not None)
        self.undo_button.setEnabled(ws is not None and ws.graph.history.can_undo)
        self.redo_button.setEnabled(ws is not None and ws.graph.history.can_redo)


# ------------------------------------------------------------ the question
def voxel_spin(value: float = 1.0) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setDecimals(3)
    spin.setRange(1e-3, 1e4)
    spin.setValue(value)
    spin.setMinimumWidth(60)
    return spin


class AxesDialog(QDialog):
    """Asks what a 3-axis image is (a 2D movie over time or one 3D stack) and, when
    the file does not say, its pixel size (y, x) or voxel size (z, y, x)."""

    def __init__(
        self,
        name: str,
        shape: tuple[int, ...],
        need_voxel: bool,
        start: tuple[float, float, float] = (1.0, 1.0, 1.0),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("2D movie or 3D stack?")
        n, h, w = shape
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{name!r} has 3 axes {shape} and no axis names. It is:"))
        self.movie_2d = QRadioButton(f"a 2D movie over time: {n} timepoints of {h}×{w}")
        self.stack_3d = QRadioButton(f"one 3D stack: {n} z planes of {h}×{w}")
        self.movie_2d.setChecked(True)
        layout.addWidget(self.movie_2d)
        layout.addWidget(self.stack_3d)
        self.spins = [voxel_spin(v) for v in start]
        self.z_label, self.size_label = QLabel("z"), QLabel()
        self.size_box = QWidget()
        sizes = row(self.z_label, self.spins[0], QLabel("y"), self.spins[1], QLabel("x"))
        sizes.addWidget(self.spins[2])
        self.size_box.setLayout(sizes)
        self.size_box.setVisible(need_voxel)
        self.size_label.setVisible(need_voxel)
        layout.addWidget(self.size_label)
        layout.addWidget(self.size_box)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.need_voxel = need_voxel
        self.movie_2d.toggled.connect(self._show_kind)
        self._show_kind()

    def _show_kind(self, *_: Any) -> None:
        """A 2D movie has no z to ask for."""
        two_d = self.movie_2d.isChecked()
        self.z_label.setVisible(not two_d)
        self.spins[0].setVisible(not two_d)
        self.size_label.setText("Pixel size (µm)" if two_d else "Voxel size (µm)")

    def answer(self) -> tuple[str, VoxelSize | None]:
        """The axes chosen and the size given (None when the file has its own)."""
        axes = AXES_2D_MOVIE if self.movie_2d.isChecked() else AXES_3D_STACK
        if not self.need_voxel:
            return axes, None
        z, y, x = (spin.value() for spin in self.spins)
        voxel = VoxelSize.from_sequence([y, x] if axes == AXES_2D_MOVIE else [z, y, x])
        return axes, voxel


def ask_axes(
    parent: QWidget, layer: Image, need_voxel: bool, start: tuple[float, float, float]
) -> tuple[str, VoxelSize | None] | None:
    """Ask the user what a 3-axis layer is; None when they cancel."""
    shape = tuple(int(s) for s in layer.data.shape)
    dialog = AxesDialog(layer.name, shape, need_voxel, start, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.answer()
