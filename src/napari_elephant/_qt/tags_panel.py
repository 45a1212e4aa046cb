"""The Tags tab: tag sets (e.g. *fate*: neuron, epidermis) as in Mastodon.

Make a set and its values (each with a colour), tag the selected nuclei —
or their whole sub-lineages — with a value, untag them (here, or with the
keys Y and Shift+Y, which give the value chosen here), and colour the
nuclei by a set instead of by status.  Sets are saved in the workspace;
each tagging is one undo step (:mod:`napari_elephant.core.tagsets`).
"""

from __future__ import annotations

from typing import Any

from qtpy.QtGui import QColor
from qtpy.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from napari_elephant._qt.panel_tools import button, connect_while_alive, row, run_reporting
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.tagsets import (
    TagChoice,
    TagSet,
    find_set,
    new_set,
    new_value,
    recoloured,
    tag_nuclei,
)

BY_STATUS = "status"


class TagsPanel(QWidget):
    """Tag sets of the session's workspace."""

    def __init__(self, session: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        layout = QVBoxLayout(self)
        layout.addWidget(self._sets_box())
        layout.addWidget(self._tag_box())
        layout.addStretch(1)
        connect_while_alive(self, [(session.events.workspace_changed, self.refresh)])
        self.refresh()

    def _sets_box(self) -> QGroupBox:
        box = QGroupBox("Tag sets")
        form = QFormLayout(box)
        self.set_choice = QComboBox()
        self.set_choice.currentTextChanged.connect(self._fill_values)
        form.addRow("Set", self.set_choice)
        self.set_name = QLineEdit(placeholderText="e.g. fate")
        form.addRow(row(self.set_name, button("Add set", self.add_set, "A new, empty tag set")))
        self.value_name = QLineEdit(placeholderText="e.g. neuron")
        add = button("Add value", self.add_value, "A value of the set, with the next colour")
        form.addRow(row(self.value_name, add))
        self.color_by = QComboBox()
        self.color_by.currentTextChanged.connect(self._on_color_by)
        form.addRow("Colour nuclei by", self.color_by)
        return box

    def _tag_box(self) -> QGroupBox:
        box = QGroupBox("Tag the selection")
        form = QFormLayout(box)
        self.value_choice = QComboBox()
        self.value_choice.currentTextChanged.connect(self._choose)
        form.addRow("Value", self.value_choice)
        self.whole_lineage = QCheckBox("Whole sub-lineage (every descendant)")
        self.whole_lineage.toggled.connect(self._choose)
        form.addRow(self.whole_lineage)
        form.addRow(
            row(
                button("Tag", lambda: self.tag(self.value_choice.currentText()), "Give the value"),
                button("Untag", lambda: self.tag(None), "Remove the set's value"),
                button("Colour…", self.pick_color, "Change the value's colour"),
            )
        )
        return box

    # ------------------------------------------------------------ state
    def sets(self) -> list[TagSet]:
        ws = self.session.workspace
        return list(ws.tag_sets) if ws is not None else []

    def refresh(self, _ws: Any = None) -> None:
        """Fill the combo boxes from the workspace's sets, keeping the choices."""
        names = [s.name for s in self.sets()]
        chosen, coloured = self.set_choice.currentText(), self.color_by.currentText()
        for combo, items, keep in (
            (self.set_choice, names, chosen),
            (self.color_by, [BY_STATUS, *names], coloured),
        ):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(items)
            combo.setCurrentText(keep if keep in items else (items[0] if items else ""))
            combo.blockSignals(False)
        self._fill_values(self.set_choice.currentText())
        self._on_color_by(self.color_by.currentText())

    def _fill_values(self, set_name: str) -> None:
        values = next((s.names for s in self.sets() if s.name == set_name), [])
        kept = self.value_choice.currentText()
        self.value_choice.blockSignals(True)
        self.value_choice.clear()
        self.value_choice.addItems(values)
        if kept in values:
            self.value_choice.setCurrentText(kept)
        self.value_choice.blockSignals(False)
        self._choose()

    def _choose(self, *_: Any) -> None:
        """What the tag keys (Y, Shift+Y) give: this set's chosen value."""
        name, value = self.set_choice.currentText(), self.value_choice.currentText()
        whole = self.whole_lineage.isChecked()
        self.session.tag_choice = TagChoice(name, value or None, whole) if name else None

    def _save(self, sets: list[TagSet]) -> None:
        ws = self.session.require_workspace()
        ws.tag_sets = sets
        ws.save_settings()
        self.refresh()

    # ---------------------------------------------------------- actions
    def add_set(self) -> None:
        def make() -> None:
            name = self.set_name.text()
            self._save(new_set(self.sets(), name))
            self.set_choice.setCurrentText(name.strip())
            self.set_name.clear()

        run_reporting(make)

    def add_value(self) -> None:
        def make() -> None:
            value = self.value_name.text()
            self._save(new_value(self.sets(), self._chosen_set().name, value))
            self.value_choice.setCurrentText(value.strip())
            self.value_name.clear()

        run_reporting(make)

    def pick_color(self) -> None:
        tag_set = run_reporting(self._chosen_set)
        value = self.value_choice.currentText()
        if tag_set is None or not value:
            return
        color = QColorDialog.getColor(QColor(tag_set.color_of(value)), self, f"Colour of {value}")
        if color.isValid():
            self._save(recoloured(self.sets(), tag_set.name, value, color.name()))

    def tag(self, value: str | None) -> int | None:
        """Tag (None: untag) the selected nuclei; how many changed."""

        def apply() -> int:
            ids = list(self.session.selection.ids)
            if not ids:
                raise InvalidInputError("select nuclei to tag first")
            graph = self.session.require_graph()
            whole = self.whole_lineage.isChecked()
            return tag_nuclei(graph, ids, self._chosen_set(), value or None, whole)

        return run_reporting(apply)

    def _chosen_set(self) -> TagSet:
        name = self.set_choice.currentText()
        if not name:
            raise InvalidInputError("add a tag set first")
        return find_set(self.sets(), name)

    def _on_color_by(self, name: str) -> None:
        found = [s for s in self.sets() if s.name == name]
        if self.session.workspace is not None:
            self.session.color_by = found[0] if found else None
