"""A workspace: one folder holding everything of a tracking project (DESIGN §4).

::

    embryo.elephant/
      workspace.json   format version, image reference, voxel size, parameters
      graph.geff/      the tracking graph (GEFF, zarr)
      models/          detection/ and flow/ checkpoints
      cache/           rebuildable intermediate data

Saves are atomic: ``workspace.json`` is written to a temporary file and
renamed; the graph is written to ``graph.geff.tmp`` and swapped in with two
renames, so a crash at any moment leaves either the old or the new graph on
disk, never a half-written one.  :func:`_recover_graph` finishes an
interrupted swap on the next open.
"""

from __future__ import annotations

import json
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import napari_elephant
from napari_elephant.core.errors import InvalidInputError, WorkspaceError
from napari_elephant.core.graph import TrackingGraph
from napari_elephant.core.io.geff_io import read_geff
from napari_elephant.core.io.geff_write import write_geff
from napari_elephant.core.io.image import (
    AXES_3D_STACK,
    AmbiguousAxesError,
    ImageSource,
    open_image,
)
from napari_elephant.core.leftovers import present, remove_tree
from napari_elephant.core.params import ParameterSets
from napari_elephant.core.tagsets import TagSet
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace_lock import hold, writing
from napari_elephant.core.workspace_migrations import MIGRATIONS as VERSION_UPGRADES

SUFFIX = ".elephant"
FORMAT_VERSION = 2
SETTINGS = "workspace.json"
GRAPH = "graph.geff"

# format version -> function upgrading a settings dict from that version to the next
MIGRATIONS: dict[int, Any] = VERSION_UPGRADES


@dataclass(frozen=True)
class ImageRef:
    """Where the movie lives; stored relative to the workspace when possible."""

    path: str
    dataset: str | None = None
    axes: str | None = None

    def resolve(self, root: Path) -> Path:
        """The image path: relative to the workspace first (folders move together)."""
        candidate = Path(self.path)
        if not candidate.is_absolute():
            candidate = (root / candidate).resolve()
        return candidate


@dataclass
class Workspace:
    """An open workspace: settings, parameters and the graph held in memory."""

    path: Path
    image: ImageRef
    voxel_size: VoxelSize
    params: ParameterSets = field(default_factory=ParameterSets)
    graph: TrackingGraph = field(default_factory=TrackingGraph)
    tag_sets: list[TagSet] = field(default_factory=list)  # the user's, in their order
    _release: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------ create
    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        image: str | os.PathLike,
        dataset: str | None = None,
        voxel_size: VoxelSize | None = None,
        axes: str | None = None,
        graph: TrackingGraph | None = None,
        overwrite: bool = False,
    ) -> Workspace:
        """Create a workspace for a movie; the voxel size comes from its metadata
        unless given, and a movie without one must be given one."""
        root = _workspace_path(path)
        if (root / SETTINGS).exists() and not overwrite:
            raise WorkspaceError(f"{root} already holds a workspace; open it instead")
        source = open_image(image, dataset=dataset, voxel_size=voxel_size, axes=axes)
        if source.voxel_size is None:
            example = "(y x µm), e.g. --voxel-size 0.5 0.5"
            if not source.is_2d:
                example = "(z y x µm), e.g. --voxel-size 2 0.5 0.5"
            raise WorkspaceError(f"{image} has no voxel size in its metadata; give it {example}")
        root.mkdir(parents=True, exist_ok=True)
        # the axes as read, so that reopening never depends on a default
        ref = ImageRef(_relative_if_possible(Path(source.path), root), source.dataset, source.axes)
        ws = cls(root, ref, source.voxel_size, graph=graph or TrackingGraph())
        ws.save()
        return ws

    # -------------------------------------------------------------- open
    @classmethod
    def open(cls, path: str | os.PathLike) -> Workspace:
        """Open a workspace; an interrupted save is completed, never discarded."""
        root = Path(path).expanduser()
        settings = _read_settings(root)
        try:
            image = ImageRef(**settings["image"])
            voxel = VoxelSize.from_sequence(settings["voxel_size"])
            params = ParameterSets.model_validate(settings.get("parameters", {}))
            tag_sets = [TagSet.model_validate(s) for s in settings.get("tag_sets", [])]
        except (KeyError, TypeError, ValueError) as exc:  # ValidationError is a ValueError
            msg = str(exc).splitlines()[0]
            raise WorkspaceError(f"{root / SETTINGS} has invalid settings: {msg}") from None
        return cls(root, image, voxel, params, _load_graph(root), tag_sets)

    # -------------------------------------------------------------- save
    def save(self) -> None:
        """Save settings and graph, each atomically."""
        self.save_settings()
        self.save_graph()

    def save_settings(self) -> None:
        data = {
            "format_version": FORMAT_VERSION,
            "written_by": f"napari-elephant {napari_elephant.__version__}",
            "image": {
                "path": self.image.path,
                "dataset": self.image.dataset,
                "axes": self.image.axes,
            },
            "voxel_size": list(self.voxel_size.as_tuple()),
            "parameters": self.params.model_dump(mode="json"),
            "tag_sets": [t.model_dump(mode="json") for t in self.tag_sets],
        }
        with writing(self.path):
            atomic_write_text(self.path / SETTINGS, json.dumps(data, indent=2) + "\n")

    def hold_for_writing(self) -> None:
        """Keep the workspace's writer lock until :meth:`release` (or until this
        object is gone): another process that writes it gets a clear error
        (:mod:`.workspace_lock`)."""
        if self._release is None:
            self._release = hold(self.path)
            weakref.finalize(self, self._release)

    def release(self) -> None:
        """Give the writer lock back (see :meth:`hold_for_writing`)."""
        if self._release is not None:
            self._release()
            self._release = None

    def save_graph(self, still_valid: Callable[[], bool] | None = None) -> bool:
        """Write the graph next to the old one, then swap them in (two renames).

        ``still_valid`` is asked between writing and swapping: a save from a
        background thread passes "the graph has not changed since I began", so
        a copy read while the user edited is dropped, never swapped in.
        Returns whether the new graph was swapped in.
        """
        with writing(self.path):
            return self._swap_graph(still_valid)

    def _swap_graph(self, still_valid: Callable[[], bool] | None) -> bool:
        final, tmp, old = _graph_paths(self.path)
        done = _done_marker(self.path)
        done.unlink(missing_ok=True)
        remove_tree(tmp)
        write_geff(self.graph, tmp)
        if still_valid is not None and not still_valid():
            remove_tree(tmp)
            return False
        atomic_write_text(done, "the graph in graph.geff.tmp is complete\n")
        if present(final):
            final.rename(old)
        tmp.rename(final)
        done.unlink()
        remove_tree(old)
        return True

    # ----------------------------------------------------------- helpers
    @property
    def name(self) -> str:
        return self.path.name.removesuffix(SUFFIX)

    @property
    def models_dir(self) -> Path:
        return self.path / "models"

    @property
    def cache_dir(self) -> Path:
        return self.path / "cache"

    def image_path(self) -> Path:
        return self.image.resolve(self.path)

    def open_image(self) -> ImageSource:
        """The movie, lazily; the workspace's voxel size wins over the file's."""
        path = self.image_path()
        if not path.exists():
            raise WorkspaceError(
                f"the image of workspace {self.path} is missing: {path} (moved or deleted?)"
            )
        try:
            return open_image(path, self.image.dataset, self.voxel_size, self.image.axes)
        except AmbiguousAxesError:
            if self.image.axes is not None:
                raise
        # A workspace made before 3 unnamed axes were ambiguous read them as one stack.
        self.image = replace(self.image, axes=AXES_3D_STACK)
        return open_image(path, self.image.dataset, self.voxel_size, self.image.axes)


def is_workspace(path: str | os.PathLike) -> bool:
    """A folder with a workspace.json (cheap: used by the napari reader)."""
    return (Path(path) / SETTINGS).is_file()


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file so that readers see the old or the new content, never half."""
    tmp = _text_tmp(path)
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _text_tmp(path: Path) -> Path:
    """Where :func:`atomic_write_text` writes before the rename."""
    return path.with_name(path.name + ".tmp")


def _workspace_path(path: str | os.PathLike) -> Path:
    """The folder as an absolute path (``~`` expanded: a dialog's text may hold it)."""
    root = Path(path).expanduser().absolute()
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"{root} is a file, not a workspace folder")
    return root


def _relative_if_possible(image: Path, root: Path) -> str:
    try:
        return os.path.relpath(image.resolve(), root.resolve())
    except ValueError:  # another drive on Windows
        return str(image.resolve())


def _graph_paths(root: Path) -> tuple[Path, Path, Path]:
    return root / GRAPH, root / (GRAPH + ".tmp"), root / (GRAPH + ".old")


def _done_marker(root: Path) -> Path:
    """The file that says the tmp graph was written to its end."""
    return root / (GRAPH + ".tmp.done")


def _recover_graph(root: Path) -> Path:
    """Finish or discard an interrupted graph save; returns the graph's path.

    The tmp folder is marked complete (:func:`_done_marker`) only after it
    was fully written, the old graph is moved aside only then, and tmp takes
    its place next: so when the final folder is missing, a marked tmp is
    complete and newer than old, and an unmarked one (a first save that died
    while writing) is discarded for old, if any.
    """
    final, tmp, old = _graph_paths(root)
    done = _done_marker(root)
    if not final.exists():
        if tmp.exists() and done.exists():
            tmp.rename(final)
        elif old.exists():
            old.rename(final)
    remove_tree(tmp)  # a save that died while writing: the final graph is intact
    done.unlink(missing_ok=True)
    remove_tree(old)
    return final


def _clear_half_written_texts(root: Path) -> None:
    """Remove what a process killed inside :func:`atomic_write_text` left beside the
    files it writes (the graph's completion marker, the settings); the files
    themselves are whole, old or new."""
    for path in (_done_marker(root), root / SETTINGS):
        _text_tmp(path).unlink(missing_ok=True)


def _load_graph(root: Path) -> TrackingGraph:
    """The saved graph (empty before the first save); a damaged one is an error.
    While another process writes the workspace its files are left alone and the
    last complete graph is read."""
    try:
        with writing(root):
            path = _recover_graph(root)
            _clear_half_written_texts(root)
    except (WorkspaceError, OSError):  # another process writes (or a read-only folder)
        final, _, old = _graph_paths(root)
        path = final if final.exists() else old
    if not path.exists():
        return TrackingGraph()
    try:
        return read_geff(path)
    except InvalidInputError as exc:
        raise WorkspaceError(f"the graph of workspace {root} is damaged: {exc}") from None


def _read_settings(root: Path) -> dict[str, Any]:
    """Load workspace.json and bring it to the current format version."""
    file = root / SETTINGS
    if not root.is_dir():
        raise WorkspaceError(f"no workspace at {root}")
    if not file.is_file():
        raise WorkspaceError(f"{root} is not a workspace (no {SETTINGS})")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WorkspaceError(f"{file} is corrupted ({exc}); nothing was changed") from None
    if not isinstance(data, dict):
        raise WorkspaceError(f"{file} is corrupted (not a JSON object); nothing was changed")
    return _migrate(data, file)


def _migrate(data: dict[str, Any], file: Path) -> dict[str, Any]:
    version = data.get("format_version")
    if not isinstance(version, int):
        raise WorkspaceError(f"{file} has no valid format_version; is it a workspace?")
    if version > FORMAT_VERSION:
        raise WorkspaceError(
            f"{file} has format {version}, newer than this napari-elephant reads "
            f"({FORMAT_VERSION}); please upgrade napari-elephant"
        )
    while version < FORMAT_VERSION:
        if version not in MIGRATIONS:
            raise WorkspaceError(f"{file} has format {version}, which cannot be upgraded")
        data = MIGRATIONS[version](data)
        version = data["format_version"] = version + 1
    return data
