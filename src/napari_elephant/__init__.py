"""napari-elephant: cell tracking in 3D+time by incremental deep learning."""

__version__ = "0.1.0.dev0"
