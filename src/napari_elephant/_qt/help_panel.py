"""The dock's proofreading aids: the status counter and the Keys tab.

The counter shows nuclei and links per status at the current timepoint and
in total (the session counts, cached per timepoint); it refreshes a moment
after the graph or the timepoint changes, so a burst of keys or a held
time slider costs one update.  The Keys tab lists every action with its key
and rebinds one: pick a row, press the new key in the field, "Set key".
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QTimer
from qtpy.QtGui import QKeySequence
from qtpy.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QKeySequenceEdit,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from napari_elephant._napari.keymap import Keymap
from napari_elephant._napari.session import ElephantSession
from napari_elephant._qt.panel_tools import connect_while_alive, run_reporting
from napari_elephant.core.graph.model import STATUS_ORDER

COUNT_DELAY_MS = 50
KINDS = ("nuclei", "links")
COLUMNS = ("Key", "Action", "Group")


class CounterWidget(QWidget):
    """Nuclei and links per status: "at this timepoint / in total"."""

    def __init__(self, session: ElephantSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        grid = QGridLayout(self)
        grid.setContentsMargins(4, 2, 4, 2)
        self.title = QLabel("t = 0 / all")
        grid.addWidget(self.title, 0, 0)
        self.labels: dict[tuple[str, str], QLabel] = {}
        for col, status in enumerate(STATUS_ORDER, start=1):
            grid.addWidget(QLabel(status.value), 0, col)
            for row, kind in enumerate(KINDS, start=1):
                label = self.labels[kind, status.value] = QLabel("0 / 0")
                grid.addWidget(label, row, col)
        for row, kind in enumerate(KINDS, start=1):
            grid.addWidget(QLabel(kind), row, 0)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(COUNT_DELAY_MS)
        self._timer.timeout.connect(self.update_counts)
        events = session.events
        dims = session.viewer.dims.events
        pairs = [(s, self._schedule) for s in (events.graph_changed, events.workspace_changed)]
        connect_while_alive(self, [*pairs, (dims.current_step, self._schedule)])
        self.update_counts()

    def _schedule(self, *_: Any) -> None:
        self._timer.start()

    def text(self, kind: str, status: str) -> str:
        return self.labels[kind, status].text()

    def update_counts(self) -> None:
        counts = self.session.status_counts()
        self.title.setText(f"t = {counts.t} / all")
        tables = {
            "nuclei": (counts.nuclei_at_t, counts.nuclei_total),
            "links": (counts.links_at_t, counts.links_total),
        }
        for (kind, status), label in self.labels.items():
            now, total = tables[kind]
            label.setText(f"{now.get(status, 0)} / {total.get(status, 0)}")


class KeysPanel(QWidget):
    """Every proofreading action with its key; rebinding."""

    def __init__(self, keymap: Keymap, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.keymap = keymap
        self.table = self._build_table()
        self.key_edit = QKeySequenceEdit()
        if hasattr(self.key_edit, "setMaximumSequenceLength"):  # Qt ≥ 6.5
            self.key_edit.setMaximumSequenceLength(1)
        self.set_button = QPushButton("Set key")
        self.set_button.setToolTip("Give the selected action the key in the field")
        self.set_button.clicked.connect(self.set_key)
        self.reset_button = QPushButton("Default")
        self.reset_button.setToolTip("Back to the selected action's default key")
        self.reset_button.clicked.connect(self.reset_key)
        row = QHBoxLayout()
        for w in (self.key_edit, self.set_button, self.reset_button):
            row.addWidget(w)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(row)
        connect_while_alive(self, [(keymap.events.changed, self.refresh)])
        self.refresh()

    def _build_table(self) -> QTableWidget:
        table = QTableWidget(len(self.keymap.rows()), len(COLUMNS))
        table.setHorizontalHeaderLabels(COLUMNS)
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        return table

    def refresh(self, *_: Any) -> None:
        """Show the current keys (bold where the user changed the default)."""
        for i, row in enumerate(self.keymap.rows()):
            for j, text in enumerate((row.key, row.title, row.group)):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{row.id} (default {row.default})")
                if j == 0 and row.key != row.default:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(i, j, item)

    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.keymap.rows()[rows[0].row()].id if rows else None

    def select_action(self, action_id: str) -> None:
        ids = [r.id for r in self.keymap.rows()]
        self.table.selectRow(ids.index(action_id))

    def set_key(self) -> None:
        action_id = self.selected_id()
        text = self.key_edit.keySequence().toString(QKeySequence.SequenceFormat.PortableText)
        if action_id is not None and text:
            run_reporting(lambda: self.keymap.rebind(action_id, text))
            self.key_edit.clear()

    def reset_key(self) -> None:
        action_id = self.selected_id()
        if action_id is not None:
            run_reporting(lambda: self.keymap.reset(action_id))
