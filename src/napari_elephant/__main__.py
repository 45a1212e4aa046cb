"""``python -m napari_elephant`` is the ``napari-elephant`` command."""

import sys

from napari_elephant.cli import main

sys.exit(main())
