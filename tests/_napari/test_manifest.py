"""The npe2 manifest validates and every command it names can be imported."""

from __future__ import annotations

from npe2 import PluginManifest


def test_manifest_is_valid_and_importable() -> None:
    manifest = PluginManifest.from_distribution("napari-elephant")  # schema-validated
    manifest.validate_imports()  # raises when a python_name does not resolve
    assert manifest.name == "napari-elephant"


def test_manifest_declares_readers_writers_sample_and_dock() -> None:
    contrib = PluginManifest.from_distribution("napari-elephant").contributions
    patterns = set(contrib.readers[0].filename_patterns)
    assert {"*.zarr", "*.h5", "*.hdf5", "*.tif", "*.tiff", "*.elephant", "*.geff"} <= patterns
    assert contrib.readers[0].accepts_directories
    assert {tuple(w.layer_types) for w in contrib.writers} >= {("points",), ("tracks",)}
    assert [s.display_name for s in contrib.sample_data] == ["ELEPHANT sample movie"]
    assert [w.display_name for w in contrib.widgets] == ["ELEPHANT", "Lineage", "Analysis"]
