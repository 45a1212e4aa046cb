"""The plots a user makes of a lineage, each with the table it was drawn from.

Figures use matplotlib's object interface (no pyplot, no window), so they
draw the same headless (``napari-elephant analyze``) and in the Analysis
dock, which embeds them.  Each :class:`Plot` carries its data as a
:class:`~napari_elephant.core.analysis.tables.Table`: what a PNG shows can be
re-plotted from its CSV.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from napari_elephant.core.analysis.tables import (
    Lineage,
    Table,
    divisions_table,
    nuclei_table,
    tag_sets,
    tag_values,
    tracks_table,
)

FIGSIZE = (5.0, 3.2)  # inches: readable in a dock and in a report


@dataclass(frozen=True)
class Plot:
    """One plot: a file name, its data and how to draw it into a figure."""

    name: str
    title: str
    data: Table
    draw: Callable[[Figure, Table], None]

    def figure(self) -> Figure:
        """A new figure of the plot (for files)."""
        fig = Figure(figsize=FIGSIZE, layout="constrained")
        self.render(fig)
        return fig

    def render(self, fig: Figure) -> None:
        """Draw into ``fig`` (cleared first; a dock's canvas keeps its figure)."""
        fig.clear()
        self.draw(fig, self.data)
        fig.axes[0].set_title(self.title)

    def save(self, folder: str | os.PathLike) -> tuple[Path, Path]:
        """``NAME.png`` and ``NAME.csv`` in ``folder`` (each written atomically)."""
        folder = Path(folder)
        png, tmp = folder / f"{self.name}.png", folder / f"{self.name}.tmp.png"
        self.figure().savefig(tmp, dpi=120)
        os.replace(tmp, png)
        return png, self.data.write_csv(folder / f"{self.name}.csv")


def per_timepoint(lin: Lineage) -> Table:
    """Nuclei (all, accepted) and divisions at each timepoint of the lineage."""
    span = np.arange(lin.t.min(), lin.t.max() + 1) if len(lin) else np.arange(0)
    offset = int(span[0]) if len(span) else 0
    count = np.bincount(lin.t - offset, minlength=len(span))
    accepted = np.bincount(lin.t[lin.status == "accepted"] - offset, minlength=len(span))
    mothers = lin.t[lin.n_children == 2] - offset
    return Table(
        "per_timepoint",
        {
            "t": span,
            "nuclei": count,
            "accepted": accepted,
            "divisions": np.bincount(mothers, minlength=len(span)),
        },
    )


def _counts(fig: Figure, data: Table) -> None:
    ax = fig.add_subplot()
    ax.plot(data.columns["t"], data.columns["nuclei"], label="all")
    ax.plot(data.columns["t"], data.columns["accepted"], label="accepted")
    ax.set(xlabel="timepoint", ylabel="nuclei")
    ax.legend(frameon=False)


def _divisions(fig: Figure, data: Table) -> None:
    ax = fig.add_subplot()
    ax.bar(data.columns["t"], data.columns["divisions"], width=1.0)
    ax.set(xlabel="timepoint (mother's last)", ylabel="divisions")


def _histogram(column: str, label: str) -> Callable[[Figure, Table], None]:
    def draw(fig: Figure, data: Table) -> None:
        ax = fig.add_subplot()
        values = np.asarray(data.columns[column], np.float64)
        values = values[np.isfinite(values)]
        ax.hist(values, bins=_bins(values, integer=column.endswith("_t")))
        ax.set(xlabel=label, ylabel="count")

    return draw


def _bins(values: np.ndarray, integer: bool) -> np.ndarray | int:
    """One bin per whole timepoint for integer values, else automatic."""
    if not len(values):
        return 1
    if integer:
        return np.arange(values.min() - 0.5, values.max() + 1.5)
    return min(50, max(5, int(np.sqrt(len(values)))))


def lineage_plots(lin: Lineage) -> list[Plot]:
    """Nuclei and divisions per timepoint, cell-cycle, track length and speed; per
    tag set, nuclei per timepoint and cell-cycle lengths by value."""
    counts = per_timepoint(lin)
    tracks = tracks_table(lin)
    full = np.asarray(tracks.columns["cycle_length_t"]) >= 0
    cycles = Table("cycles", {k: np.asarray(v)[full] for k, v in tracks.columns.items()})
    moved = Table("speeds", {"id": lin.ids, "t": lin.t, "speed_um_per_t": lin.speed})
    return [
        Plot("nuclei_per_timepoint", "Nuclei per timepoint", counts, _counts),
        Plot("divisions_per_timepoint", "Divisions per timepoint", counts, _divisions),
        Plot(
            "cell_cycle_length", "Cell-cycle length (division to division)", cycles,
            _histogram("cycle_length_t", "cell-cycle length (timepoints)"),
        ),
        Plot(
            "track_length", "Track length (between divisions)", tracks,
            _histogram("n_nuclei", "nuclei per track"),
        ),
        Plot("speed", "Speed", moved, _histogram("speed_um_per_t", "µm per timepoint")),
        *tag_plots(lin, counts.columns["t"], cycles),
    ]  # fmt: skip


def tag_plots(lin: Lineage, span: np.ndarray, cycles: Table) -> list[Plot]:
    """Per tag set: nuclei per timepoint (over the timepoints ``span``) and the
    complete ``cycles`` (tracks with both divisions), one series per value."""
    out = []
    offset = span[0] if len(span) else 0
    for name in tag_sets(lin):
        values = tag_values(lin, name)
        kinds = sorted(set(values.tolist()) - {""})
        per_t = {"t": span}
        for v in kinds:
            per_t[v] = np.bincount(lin.t[values == v] - offset, minlength=len(span))
        out.append(Plot(f"nuclei_per_timepoint_by_{name}", f"Nuclei per timepoint by {name}",
                        Table(f"by_{name}", per_t), _lines(kinds)))  # fmt: skip
        by_value = {"track": cycles.columns["track"],
                    "cycle_length_t": cycles.columns["cycle_length_t"],
                    name: cycles.columns[f"tag:{name}"]}  # fmt: skip
        out.append(Plot(f"cell_cycle_length_by_{name}", f"Cell-cycle length by {name}",
                        Table(f"cycles_by_{name}", by_value), _by_value(name, kinds)))  # fmt: skip
    return out


def _lines(kinds: list[str]) -> Callable[[Figure, Table], None]:
    def draw(fig: Figure, data: Table) -> None:
        ax = fig.add_subplot()
        for v in kinds:
            ax.plot(data.columns["t"], data.columns[v], label=v)
        ax.set(xlabel="timepoint", ylabel="nuclei")
        if kinds:
            ax.legend(frameon=False)

    return draw


def _by_value(name: str, kinds: list[str]) -> Callable[[Figure, Table], None]:
    def draw(fig: Figure, data: Table) -> None:
        ax = fig.add_subplot()
        cycles = np.asarray(data.columns["cycle_length_t"], np.float64)
        which = np.asarray(data.columns[name])
        bins = _bins(cycles, integer=True)
        for v in kinds:
            ax.hist(cycles[which == v], bins=bins, alpha=0.6, label=v)
        ax.set(xlabel="cell-cycle length (timepoints)", ylabel="count")
        if kinds:
            ax.legend(frameon=False)

    return draw


def write_analysis(lin: Lineage, folder: str | os.PathLike) -> list[Path]:
    """Every table and plot of the lineage into ``folder`` (created); the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = [t.write_csv(folder / f"{t.name}.csv") for t in tables(lin)]
    for plot in lineage_plots(lin):
        out += plot.save(folder)
    return out


def tables(lin: Lineage) -> list[Table]:
    return [nuclei_table(lin), tracks_table(lin), divisions_table(lin)]
