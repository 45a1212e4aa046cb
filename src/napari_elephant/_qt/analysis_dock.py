"""The Analysis dock: the lineage's plots and tables beside the viewer.

Two tabs over the session's graph, both from :mod:`napari_elephant.core.analysis`
(what ``napari-elephant analyze`` writes): *Plots* (nuclei and divisions per
timepoint, cell-cycle length, track length, speed; matplotlib drawn into the
dock) and *Table* (nuclei, tracks or divisions, sortable by any column; a
double-click selects that nucleus — a track's first, a division's mother —
and brings the viewer there).  **Refresh** reads the graph again (a whole
lineage takes about 0.1 s per 10k nuclei, so it is not redone on every
edit); a new workspace refreshes by itself.  **Save…** writes every table
and plot, as CSV and PNG, into a folder.

The graph is read in a worker thread (:mod:`~napari_elephant.core.analysis.reading`),
a second after a workspace opens: at 300k nuclei it takes seconds, which
opening a workspace used to wait for (docs/benchmarks.md, viewer speed), and
a read beside the opening slowed both.  One read runs at a time; a refresh
asked for meanwhile reads again once it ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from napari.qt.threading import create_worker
from qtpy.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, QTimer
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QLabel,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from napari_elephant._napari.navigation import Navigator
from napari_elephant._napari.session import session_for
from napari_elephant._qt.panel_tools import button, connect_while_alive, row, run_reporting
from napari_elephant.core.analysis.plots import FIGSIZE, Plot, write_analysis
from napari_elephant.core.analysis.reading import Analysis, read_analysis
from napari_elephant.core.analysis.tables import Lineage, Table, csv_cell, is_2d

if TYPE_CHECKING:
    import napari

SORT_ROLE = Qt.ItemDataRole.UserRole  # the raw value, so numbers sort as numbers
AUTO_REFRESH_MS = 1000  # quiet time after the last edit before the dock reads again
AUTO_REFRESH_NUCLEI = 50_000  # above this, reading takes ~0.5 s: Refresh is by hand
JUMP_COLUMN = {"nuclei": "id", "tracks": "first", "divisions": "mother"}


class TableModel(QAbstractTableModel):
    """A core :class:`Table` as a read-only Qt model."""

    def __init__(self, table: Table) -> None:
        super().__init__()
        self.table = table
        self.names = list(table.columns)

    def rowCount(self, parent: QModelIndex | None = None) -> int:  # Qt naming
        return 0 if parent is not None and parent.isValid() else len(self.table)

    def columnCount(self, parent: QModelIndex | None = None) -> int:  # Qt naming
        return 0 if parent is not None and parent.isValid() else len(self.names)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        value = self.table.columns[self.names[index.column()]][index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return str(csv_cell(value))
        if role == SORT_ROLE:
            return value.item() if hasattr(value, "item") else value
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return self.names[section] if orientation == Qt.Orientation.Horizontal else section + 1


class AnalysisDock(QWidget):
    """Plots and tables of the viewer's lineage; opened from Plugins ▸ Analysis."""

    def __init__(self, napari_viewer: napari.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session_for(napari_viewer)
        self.navigator = Navigator(self.session)
        self.lineage: Lineage | None = None
        self.plots: list[Plot] = []
        self.tables: dict[str, Table] = {}
        self._reader: Any = None  # the worker reading the graph, while one runs
        self._again = False  # a refresh was asked for while it ran
        self.tabs = QTabWidget()
        self.tabs.addTab(self._plot_page(), "Plots")
        self.tabs.addTab(self._table_page(), "Table")
        self.status = QLabel("")
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addLayout(
            row(
                button("Refresh", self.refresh, "Read the lineage again"),
                button("Save…", self.save, "Write every table and plot (CSV, PNG)"),
            )
        )
        layout.addWidget(self.status)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(AUTO_REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        connect_while_alive(
            self,
            [
                (self.session.events.workspace_changed, self._on_workspace),
                (self.session.events.graph_changed, self._on_edit),
            ],
        )
        self.refresh()

    def _on_workspace(self, _ws: Any = None) -> None:
        """A new workspace is read a quiet moment later: its layers come first."""
        self.status.setText("reading the lineage…")
        self._timer.start()

    def _on_edit(self, _action: Any = None) -> None:
        """Refresh a quiet moment after edits, while a lineage is small enough."""
        lin = self.lineage
        if lin is not None and len(lin) <= AUTO_REFRESH_NUCLEI:
            self._timer.start()

    def _plot_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.plot_choice = QComboBox()
        self.plot_choice.currentIndexChanged.connect(self._show_plot)
        self.canvas = FigureCanvasQTAgg(Figure(figsize=FIGSIZE, layout="constrained"))
        layout.addWidget(self.plot_choice)
        layout.addWidget(self.canvas)
        return page

    def _table_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.table_choice = QComboBox()
        self.table_choice.addItems(list(JUMP_COLUMN))
        self.table_choice.currentTextChanged.connect(self._show_table)
        self.view = QTableView()
        self.view.setSortingEnabled(True)
        self.view.doubleClicked.connect(self.jump)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSortRole(SORT_ROLE)
        self.view.setModel(self.proxy)
        layout.addWidget(self.table_choice)
        layout.addWidget(self.view)
        return page

    @property
    def reading(self) -> bool:
        """Whether a read of the graph is due or running (tests and scripts wait)."""
        return self._reader is not None or self._timer.isActive()

    def refresh(self, _ws: Any = None) -> None:
        """Read the session's lineage in a worker thread; the plot and table are redrawn
        when it is read."""
        graph = self.session.graph
        if self._reader is not None:
            self._again = True
            return
        if graph is None:
            self._show(None)
            return
        self.status.setText("reading the lineage…")
        two_d = is_2d(graph, self.session.workspace)
        worker = create_worker(read_analysis, graph, two_d, _start_thread=False)
        worker.returned.connect(self._on_read)
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._on_reader_done)
        self._reader = worker
        worker.start()

    def _on_read(self, analysis: Analysis | None) -> None:
        if analysis is None:
            self.status.setText("the lineage kept changing while it was read: press Refresh")
        elif not self._again:  # an older graph's answer is not shown
            self._show(analysis)

    def _on_error(self, error: Exception) -> None:
        self.status.setText(f"could not read the lineage: {error}")

    def _on_reader_done(self) -> None:
        self._reader = None
        if self._again:
            self._again = False
            self.refresh()

    def _show(self, analysis: Analysis | None) -> None:
        """Show a read analysis (None: no workspace) in the plot and table."""
        if analysis is None:
            self.lineage, self.plots, self.tables = None, [], {}
        else:
            self.lineage, self.plots, self.tables = (
                analysis.lineage,
                analysis.plots,
                analysis.tables,
            )
        index = max(self.plot_choice.currentIndex(), 0)
        self.plot_choice.blockSignals(True)
        self.plot_choice.clear()
        self.plot_choice.addItems([p.title for p in self.plots])
        self.plot_choice.blockSignals(False)
        self.plot_choice.setCurrentIndex(min(index, len(self.plots) - 1))
        self._show_plot(self.plot_choice.currentIndex())
        self._show_table(self.table_choice.currentText())
        self.status.setText(self._summary())

    def _summary(self) -> str:
        lin = self.lineage
        if lin is None:
            return "no workspace or graph open"
        return f"{len(lin)} nuclei · {int((lin.n_children == 2).sum())} divisions"

    def _show_plot(self, index: int) -> None:
        figure = self.canvas.figure
        if 0 <= index < len(self.plots):
            self.plots[index].render(figure)
        else:
            figure.clear()
        self.canvas.draw_idle()

    def _show_table(self, name: str) -> None:
        table = self.tables.get(name)
        self.proxy.setSourceModel(TableModel(table) if table is not None else None)

    def jump(self, index: QModelIndex) -> None:
        """Select the row's nucleus and bring the viewer to it."""
        model = self.proxy.sourceModel()
        if model is None:
            return
        row = self.proxy.mapToSource(index).row()
        nid = int(model.table.columns[JUMP_COLUMN[model.table.name]][row])
        run_reporting(lambda: self.navigator.jump(nid))

    def save(self) -> None:
        """Write every table and plot into a folder the user picks."""
        if self.lineage is None:
            return
        folder = QFileDialog.getExistingDirectory(self, "Save the analysis into")
        if not folder:
            return
        written = run_reporting(lambda: write_analysis(self.lineage, folder))
        if written is not None:
            self.status.setText(f"{len(written)} files written to {folder}")
