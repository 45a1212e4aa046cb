"""The ``napari-elephant`` command line: the same core functions the docks call.

Every command exits 0 on success; on bad input it prints one line
(``napari-elephant: error: ...``) to stderr and exits 2, with no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from napari_elephant import __version__
from napari_elephant.cli import analysis, data, detection, evaluate, flow, linking
from napari_elephant.cli.common import EXIT_BAD_INPUT, EXIT_INTERRUPTED, fail
from napari_elephant.core.errors import ElephantError

__all__ = ["EXIT_BAD_INPUT", "build_parser", "main"]

# Each command module contributes a {name: (add_arguments, run, help)} table.
COMMANDS: dict[str, tuple[Callable, Callable, str]] = {
    **data.COMMANDS,
    **detection.COMMANDS,
    **flow.COMMANDS,
    **evaluate.COMMANDS,
    **linking.COMMANDS,
    **analysis.COMMANDS,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``napari-elephant`` and ``python -m napari_elephant``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ElephantError as exc:
        return fail(str(exc))
    except (OSError, ValueError) as exc:  # a library's complaint about the user's file
        return fail(f"{type(exc).__name__}: {exc}")
    except KeyboardInterrupt:
        print("napari-elephant: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="napari-elephant",
        description="Track cell nuclei in 3D+time movies by incremental deep learning.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (add_args, func, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_args(p)
        p.set_defaults(func=func)
    return parser
