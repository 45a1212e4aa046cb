"""Questions a biologist asks of a lineage: tables of nuclei, tracks and divisions,
and the plots made from them (``napari-elephant analyze``, the Analysis dock)."""

from napari_elephant.core.analysis.tables import (
    Lineage,
    Table,
    divisions_table,
    lineage_of,
    nuclei_table,
    tracks_table,
)

__all__ = ["Lineage", "Table", "divisions_table", "lineage_of", "nuclei_table", "tracks_table"]
