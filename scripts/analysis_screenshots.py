"""Screenshots of the Analysis dock on a real-size lineage (docs/analysis.md).

The lineage (a CSV such as ``../shared/data/real/astec_Pm05_lineage.csv``)
goes into a workspace over a blank placeholder movie (the dock reads only
the graph), the dock is opened beside napari under Xvfb, and its two tabs
are grabbed.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python \\
        scripts/analysis_screenshots.py LINEAGE.csv docs/images/analysis
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np


def placeholder_workspace(lineage: Path, folder: Path) -> Path:
    """A workspace holding the lineage over a 16³ blank movie that spans it."""
    from napari_elephant.core.io.csv_io import load_csv
    from napari_elephant.core.io.image import write_ome_zarr
    from napari_elephant.core.units import VoxelSize
    from napari_elephant.core.workspace import Workspace

    graph = load_csv(lineage)
    span = np.array([n.center for n in graph.nuclei()]).max(axis=0) + 20.0
    movie = np.zeros((max(graph.timepoints()) + 1, 16, 16, 16), np.uint8)
    image = write_ome_zarr(folder / "blank.ome.zarr", movie, VoxelSize(*(span / 16)))
    return Workspace.create(folder / "lineage.elephant", image, graph=graph).path


def settle() -> None:
    from qtpy.QtWidgets import QApplication

    for _ in range(20):
        QApplication.processEvents()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lineage", type=Path)
    parser.add_argument("out", help="file name prefix: PREFIX_plot.png, PREFIX_table.png")
    args = parser.parse_args()
    import napari
    from qtpy.QtCore import Qt

    from napari_elephant._napari.session import session_for
    from napari_elephant._qt.analysis_dock import AnalysisDock

    with tempfile.TemporaryDirectory() as tmp:
        viewer = napari.Viewer(show=True)
        session_for(viewer).open_workspace(placeholder_workspace(args.lineage, Path(tmp)))
        dock = AnalysisDock(viewer)
        viewer.window.add_dock_widget(dock, name="Analysis")
        dock.resize(520, 620)
        while dock.reading:  # the lineage is read in a worker thread
            settle()
        dock.plot_choice.setCurrentIndex(2)  # the cell-cycle lengths
        settle()
        dock.grab().save(f"{args.out}_plot.png")
        dock.tabs.setCurrentIndex(1)
        dock.table_choice.setCurrentText("tracks")
        names = dock.proxy.sourceModel().names
        dock.view.sortByColumn(names.index("cycle_length_t"), Qt.SortOrder.DescendingOrder)
        settle()
        dock.grab().save(f"{args.out}_table.png")
        viewer.close()


if __name__ == "__main__":
    main()
