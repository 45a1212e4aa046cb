"""Small pieces the job tabs share: buttons, rows, timepoint fields, error reporting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from napari.utils.notifications import show_error
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication, QHBoxLayout, QLineEdit, QPushButton, QWidget

from napari_elephant.core.errors import ElephantError

TIMEPOINTS_TIP = "A:B (B excluded), A, or empty for {}"


def button(text: str, slot: Callable[[], Any], tip: str = "") -> QPushButton:
    widget = QPushButton(text)
    widget.setToolTip(tip)
    widget.clicked.connect(lambda *_: slot())
    return widget


def row(*widgets: QWidget) -> QHBoxLayout:
    layout = QHBoxLayout()
    for widget in widgets:
        layout.addWidget(widget)
    return layout


def timepoints_edit(empty_means: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setPlaceholderText(empty_means)
    edit.setToolTip(TIMEPOINTS_TIP.format(empty_means))
    return edit


def run_reporting(fn: Callable[[], Any]) -> Any:
    """Run fn; a user-input error (bad range, no workspace, busy) becomes a notification."""
    try:
        return fn()
    except ElephantError as error:
        show_error(str(error))
        return None


def settings_saver(jobs: Any) -> Callable[[Any], None]:
    """The forms' on_change: write workspace.json (atomically) after each accepted edit."""

    def save(_params: Any) -> None:
        ws = jobs.session.workspace
        if ws is None:
            return
        try:
            ws.save_settings()
        except (OSError, ElephantError) as error:
            show_error(f"settings not saved: {error}")

    return save


def connect_while_alive(widget: QWidget, pairs: list[tuple[Any, Callable[..., Any]]]) -> None:
    """Connect signals to slots until the widget is destroyed."""
    for signal, slot in pairs:
        signal.connect(slot)

    def disconnect(*_: Any) -> None:
        for signal, slot in pairs:
            signal.disconnect(slot)

    widget.destroyed.connect(disconnect)


def app_timer(seconds: float, slot: Callable[[], Any]) -> QTimer | None:
    """A single-shot timer owned by the application, so that it outlives any dock;
    None without a QApplication (headless use)."""
    app = QApplication.instance()
    if app is None:
        return None
    timer = QTimer(app)
    timer.setSingleShot(True)
    timer.setInterval(int(seconds * 1000))
    timer.timeout.connect(slot)
    return timer
