"""The Log tab: a live loss plot per model and a text log of the runs.

The plot keeps the last ``N_LOSSES`` training losses of each model (prior
training, whose loss measures something else, is left out) and is drawn
with QPainter — a few hundred points need no plotting library.  The log
gets a line when a job starts (with its parameters) and when it ends (with
its status, duration and what it changed); failures land here too.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from qtpy.QtCore import QPointF, QRectF, QSize, Qt
from qtpy.QtGui import QColor, QPainter, QPen, QPolygonF
from qtpy.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from napari_elephant._napari.jobs import Job, JobRecord, JobRunner
from napari_elephant._qt.panel_tools import connect_while_alive
from napari_elephant.core.training.progress import Progress

N_LOSSES = 300
MAX_LOG_LINES = 2000
COLORS = {"detection": QColor(0, 200, 220), "flow": QColor(255, 160, 40)}
MARGIN = 6
LABELS_PX = 44  # room on the right for the y range


class LossPlot(QWidget):
    """Line plot of the latest losses of each model, sharing one y range."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: dict[str, deque[float]] = {}
        self.setMinimumHeight(120)

    def sizeHint(self) -> QSize:  # Qt naming
        return QSize(300, 150)

    def add(self, model: str, loss: float) -> None:
        self.series.setdefault(model, deque(maxlen=N_LOSSES)).append(float(loss))
        self.update()  # Qt merges repaint requests: one paint per event-loop pass

    def clear(self) -> None:
        self.series.clear()
        self.update()

    def paintEvent(self, _event: Any) -> None:  # Qt naming
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(30, 30, 34))
        values = [v for s in self.series.values() for v in s]
        if not values:
            painter.setPen(QColor(150, 150, 150))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no training yet")
            return
        low, high = min(values), max(values)
        area = QRectF(self.rect()).adjusted(MARGIN, MARGIN + 14, -MARGIN - LABELS_PX, -MARGIN)
        for i, (model, data) in enumerate(self.series.items()):
            color = COLORS.get(model, QColor(200, 200, 200))
            painter.setPen(QPen(color, 1.5))
            painter.drawPolyline(_polygon(list(data), area, low, high))
            painter.drawText(QPointF(MARGIN + 130 * i, MARGIN + 10), f"{model} {data[-1]:.4g}")
        painter.setPen(QColor(150, 150, 150))
        labels = area.adjusted(0, 0, LABELS_PX, 0)
        right = Qt.AlignmentFlag.AlignRight
        painter.drawText(labels, right | Qt.AlignmentFlag.AlignTop, f"{high:.3g}")
        painter.drawText(labels, right | Qt.AlignmentFlag.AlignBottom, f"{low:.3g}")


def _polygon(data: list[float], area: QRectF, low: float, high: float) -> QPolygonF:
    """Points of a series scaled into the area (x: last N_LOSSES steps, y: shared range)."""
    span = (high - low) or 1.0
    step = area.width() / max(1, N_LOSSES - 1)
    x0 = area.right() - step * (len(data) - 1)
    return QPolygonF(
        [
            QPointF(x0 + step * i, area.bottom() - (v - low) / span * area.height())
            for i, v in enumerate(data)
        ]
    )


class LogPanel(QWidget):
    """Loss plot above, run log below."""

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.plot = LossPlot()
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(MAX_LOG_LINES)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Training loss (latest steps)"))
        layout.addWidget(self.plot)
        layout.addWidget(QLabel("Runs"))
        layout.addWidget(self.text, 1)
        for record in runner.records:
            self.text.appendPlainText(record.line())
        ev = runner.events
        pairs = [(ev.started, self._started), (ev.progress, self._progress)]
        connect_while_alive(self, [*pairs, (ev.finished, self._done)])

    def lines(self) -> list[str]:
        return self.text.toPlainText().splitlines()

    def _started(self, job: Job) -> None:
        params = ", ".join(f"{k}={v}" for k, v in job.params.items())
        stamp = time.strftime("%H:%M:%S")
        self.text.appendPlainText(f"{stamp} {job.name} started ({params})")

    def _progress(self, job: Job, record: Progress) -> None:
        if job.model and record.loss is not None and not record.task.startswith("prior"):
            self.plot.add(job.model, record.loss)

    def _done(self, record: JobRecord) -> None:
        self.text.appendPlainText(record.line())
