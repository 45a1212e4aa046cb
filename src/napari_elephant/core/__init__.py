"""Pure-Python core: data model, I/O, learning.  Never imports napari or Qt."""
