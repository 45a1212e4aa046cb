"""Forms generated from the pydantic parameter models (core/params.py).

One row per field: the label is the field's title, the tooltip its
description and default.  Choices (``Literal``) are magicgui combo boxes,
booleans magicgui check boxes, integers magicgui spin boxes bounded by the
field's limits; everything magicgui has no widget for is a text field parsed
leniently and validated by the model itself: "a number or auto", optional
tuples and seeds, and floats (magicgui's float box rounds to a fixed number of
decimals, which would turn a learning rate of 1e-5 into 0).  An edit is
assigned to the bound model instance (``validate_assignment`` checks it); a
value the model refuses is marked red with the reason and not kept; an
accepted one calls ``on_change`` (the docks save the workspace settings
there).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from magicgui.widgets import CheckBox, ComboBox, SpinBox
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QFormLayout,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

INVALID_STYLE = "border: 1px solid #e0445a;"
INT_LIMIT = 10**9


@dataclass
class _Editor:
    """A field's widget and how to read, show and watch its value."""

    widget: QWidget
    get: Callable[[], Any]
    show: Callable[[Any], None]
    signal: Any


def parse_text(text: str) -> Any:
    """Lenient reading of a text field: "" / "none" → None, "a, b, c" → a tuple,
    numbers → int or float, anything else stays text ("auto")."""
    text = text.strip()
    if text.lower() in ("", "none"):
        return None
    if "," in text:
        return tuple(parse_text(part) for part in text.strip("()[] ").split(","))
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple | list):
        return ", ".join(format_value(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _literal_choices(annotation: Any) -> list[str] | None:
    return [str(a) for a in get_args(annotation)] if get_origin(annotation) is Literal else None


def _int_bounds(info: FieldInfo) -> tuple[int, int]:
    low, high = -INT_LIMIT, INT_LIMIT
    for meta in info.metadata:
        if getattr(meta, "ge", None) is not None:
            low = int(meta.ge)
        if getattr(meta, "gt", None) is not None:
            low = int(meta.gt) + 1
        if getattr(meta, "le", None) is not None:
            high = int(meta.le)
        if getattr(meta, "lt", None) is not None:
            high = int(meta.lt) - 1
    return low, high


def _combo(choices: Sequence[str]) -> _Editor:
    box = ComboBox(choices=list(choices))

    def show(value: Any) -> None:
        if str(value) not in box.choices:  # e.g. a saved device not present here
            box.choices = (*box.choices, str(value))
        box.value = str(value)

    return _Editor(box.native, lambda: box.value, show, box.changed)


def _check() -> _Editor:
    box = CheckBox()
    return _Editor(box.native, lambda: box.value, lambda v: setattr(box, "value", bool(v)),
                   box.changed)  # fmt: skip


def _spin(info: FieldInfo) -> _Editor:
    low, high = _int_bounds(info)
    spin = SpinBox(min=low, max=high)
    spin.native.setKeyboardTracking(False)  # one edit when typing "100", not three
    return _Editor(spin.native, lambda: spin.value, lambda v: setattr(spin, "value", int(v)),
                   spin.changed)  # fmt: skip


def _text() -> _Editor:
    edit = QLineEdit()
    return _Editor(
        edit,
        lambda: parse_text(edit.text()),
        lambda v: edit.setText(format_value(v)),
        edit.editingFinished,
    )


def make_editor(info: FieldInfo, choices: Sequence[str] | None = None) -> _Editor:
    """The widget for one field."""
    annotation = info.annotation
    options = choices or _literal_choices(annotation)
    if options:
        return _combo(options)
    if annotation is bool:
        return _check()
    if annotation is int:
        return _spin(info)
    return _text()


def is_optional(annotation: Any) -> bool:
    origin = get_origin(annotation)
    return origin in (typing.Union, types.UnionType) and type(None) in get_args(annotation)


class ParamForm(QWidget):
    """A form over some fields of a parameter model; bind an instance with ``set_model``."""

    def __init__(
        self,
        model_cls: type[BaseModel],
        fields: Sequence[str] | None = None,
        on_change: Callable[[BaseModel], Any] | None = None,
        choices: Mapping[str, Sequence[str]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model_cls = model_cls
        self.on_change = on_change
        self.instance: BaseModel | None = None
        self.editors: dict[str, _Editor] = {}
        self.errors: dict[str, str] = {}
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        infos = model_cls.model_fields
        for name in fields or list(infos):
            info = infos[name]
            editor = make_editor(info, (choices or {}).get(name))
            editor.widget.setObjectName(name)
            editor.widget.setToolTip(_tooltip(info))
            editor.signal.connect(lambda *_, n=name: self._edited(n))
            self.editors[name] = editor
            layout.addRow(info.title or name, editor.widget)
        self.set_model(None)

    def widget(self, name: str) -> QWidget:
        return self.editors[name].widget

    def set_model(self, instance: BaseModel | None) -> None:
        """Show (and from now on edit) ``instance``; None disables the form."""
        self.instance = instance
        self.errors.clear()
        for name, editor in self.editors.items():
            editor.widget.blockSignals(True)
            if instance is not None:
                editor.show(getattr(instance, name))
            editor.widget.blockSignals(False)
            self._mark(name, None)
        self.setEnabled(instance is not None)

    def _edited(self, name: str) -> None:
        instance = self.instance
        if instance is None:
            return
        editor = self.editors[name]
        try:
            setattr(instance, name, editor.get())
        except ValidationError as error:
            self._mark(name, error.errors()[0]["msg"])
            return
        self._mark(name, None)
        editor.widget.blockSignals(True)
        editor.show(getattr(instance, name))  # the value as the model keeps it
        editor.widget.blockSignals(False)
        if self.on_change is not None:
            self.on_change(instance)

    def _mark(self, name: str, error: str | None) -> None:
        widget = self.editors[name].widget
        info = self.model_cls.model_fields[name]
        if error is None:
            self.errors.pop(name, None)
            widget.setStyleSheet("")
            widget.setToolTip(_tooltip(info))
        else:
            self.errors[name] = error
            widget.setStyleSheet(INVALID_STYLE)
            widget.setToolTip(f"Not kept: {error}\n\n{_tooltip(info)}")


def _tooltip(info: FieldInfo) -> str:
    default = info.get_default(call_default_factory=True)
    text = info.description or info.title or ""
    hint = " (empty: none)" if is_optional(info.annotation) else ""
    return f"{text}\nDefault: {format_value(default) or 'none'}{hint}".strip()


class Collapsible(QWidget):
    """A titled section that folds away (for the less used settings)."""

    def __init__(self, title: str, content: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.content = content
        self.toggle = QToolButton()
        self.toggle.setText(title)
        self.toggle.setCheckable(True)
        self.toggle.setStyleSheet("QToolButton { border: none; }")
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.toggled.connect(self._show)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle)
        layout.addWidget(content)
        self._show(False)

    def _show(self, on: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.content.setVisible(on)
