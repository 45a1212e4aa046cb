"""Screenshots of the Lineage dock's fold and feature axis on a real-size lineage
(docs/proofreading.md).

The lineage (a CSV such as ``../shared/data/real/astec_Pm05_lineage.csv``) goes into
a workspace over a blank placeholder movie, as for the analysis screenshots; the
dock is grabbed with one branch folded, then with the volume across.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python \\
        scripts/lineage_screenshots.py LINEAGE.csv docs/images/lineage
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from analysis_screenshots import placeholder_workspace, settle

from napari_elephant.core.tagsets import sub_lineage


def division_to_fold(graph) -> int:
    """In the tree of the biggest early branch, the division nearest the middle of
    the movie: folding it shows its tree close up beside the unfolded half."""
    early = [n.id for n in graph.nuclei() if n.t <= 1 and len(graph.children(n.id)) == 2]
    top = max(early, key=lambda nid: len(sub_lineage(graph, [nid])))
    middle = np.median([n.t for n in graph.nuclei()])
    inside = [nid for nid in sub_lineage(graph, [top]) if len(graph.children(nid)) == 2]
    return min(inside, key=lambda nid: abs(graph.nucleus(nid).t - middle))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lineage", type=Path)
    parser.add_argument("out", help="file name prefix: PREFIX_fold.png, PREFIX_volume.png")
    args = parser.parse_args()
    import napari

    from napari_elephant._napari.session import session_for
    from napari_elephant._qt.lineage_view import LineageView

    with tempfile.TemporaryDirectory() as tmp:
        viewer = napari.Viewer(show=True)
        session = session_for(viewer)
        session.open_workspace(placeholder_workspace(args.lineage, Path(tmp)))
        view = LineageView(viewer)
        viewer.window.add_dock_widget(view, name="Lineage")
        view.resize(560, 640)
        folded = division_to_fold(session.graph)
        session.selection.select_one(folded)
        view.lineage_only.setChecked(True)
        view.toggle_fold()
        view.fit()
        settle()
        view.grab().save(f"{args.out}_fold.png")
        view.toggle_fold()
        view.axis.setCurrentText("volume")
        settle()
        view.grab().save(f"{args.out}_volume.png")
        print(f"folded nucleus {folded}; volumes {np.nanmin(view.layout_.x):.0f}–"
              f"{np.nanmax(view.layout_.x):.0f} µm³")  # fmt: skip
        viewer.close()


if __name__ == "__main__":
    main()
