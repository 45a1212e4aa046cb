"""User-facing errors: one clear line, no traceback."""

from __future__ import annotations


class ElephantError(Exception):
    """An error caused by the user's input, reported as one line.

    The CLI prints ``str(error)`` and exits with a non-zero status; the widgets
    show it as a notification.  Anything else that escapes is a bug.
    """


class InvalidInputError(ElephantError, ValueError):
    """A file, argument or value the user gave cannot be used."""


class WorkspaceError(ElephantError):
    """A workspace cannot be opened or saved as asked."""


class GraphError(ElephantError, ValueError):
    """An edit would break an invariant of the tracking graph."""
