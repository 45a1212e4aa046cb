"""The real-movie chapter's user (docs/tutorial_real.md): where a person clicks in
the HeLa and CHO movies, and what a person sees there that the silver truth does
not say.

Used by ``scripts/tutorial_real_screenshots.py``.  The silver truth
(/work/shared/data/real/README.md) is one nucleus per label of a baseline
segmentation, so it is the user's eye only where the segmentation is right.
It leaves out most nuclei cut by the image edge: :func:`eye` adds the ones a
person sees there (bright blobs on the border that no silver-truth nucleus
covers), so that the simulated proofreader accepts a real nucleus even where
the silver truth has none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path("/work/shared/data/real")
DMAX_UM = 4.0  # matching distance of every score of the chapter
BRIGHT = 0.3  # of the way from the background to the bright nuclei: clearly visible
FAINT = 0.15  # below this a nucleus is barely visible
MIN_EDGE_PX = 40  # a smaller bright patch on the border is not worth a click
SIGMA_PX = 1.5  # smoothing before the eye thresholds a frame


@dataclass(frozen=True)
class RealMovie:
    """A real movie, its silver truth, and what the user types in for it."""

    name: str  # the workspace's name
    image: str
    truth: str
    voxel: tuple[float, float, float]  # z, y, x µm (a 2D movie's z is nominal)
    clicks: int  # nuclei clicked at t = 0


HELA = RealMovie("hela", "Fluo_Hela_02_img.tif", "hela_silver_truth.csv", (1.0, 0.645, 0.645), 10)
CHO = RealMovie("cho", "Fluo-N3DH-CHO_02_img.tif", "cho_silver_truth.csv", (1.0, 0.202, 0.202), 5)


# ----------------------------------------------------------------- looking
def frames(movie: RealMovie) -> np.ndarray:
    """The movie as (T, Z, Y, X), each frame scaled 0 (background) to 1 (bright)."""
    import tifffile

    raw = tifffile.imread(DATA / movie.image).astype(np.float32)
    raw = raw[:, np.newaxis] if raw.ndim == 3 else raw
    out = np.empty_like(raw)
    for t, frame in enumerate(raw):
        background, bright = np.percentile(frame, [50, 99.5])
        out[t] = (frame - background) / max(float(bright - background), 1.0)
    return out


def lateral_radius(nucleus: Any) -> float:
    """The in-plane radius (µm) of the circle of equal area: what a user fits with E / Q."""
    yx = nucleus.cov_matrix[1:, 1:]
    return float(np.linalg.det(yx) ** 0.25)


def pixel(nucleus: Any, voxel: tuple[float, ...]) -> tuple[int, int, int]:
    """The voxel (z, y, x) of a nucleus' centre."""
    z, y, x = (round(c / v) for c, v in zip(nucleus.center, voxel, strict=True))
    return int(z), int(y), int(x)


def brightness(movie: np.ndarray, nucleus: Any, voxel: tuple[float, ...]) -> float:
    """Mean scaled intensity over the middle of a nucleus (a disc of half its radius)."""
    z, y, x = pixel(nucleus, voxel)
    frame = movie[nucleus.t, min(max(z, 0), movie.shape[1] - 1)]
    r = max(1, round(0.5 * lateral_radius(nucleus) / voxel[1]))
    patch = frame[max(y - r, 0) : y + r + 1, max(x - r, 0) : x + r + 1]
    return float(patch.mean()) if patch.size else 0.0


def edge_distance(nucleus: Any, movie: np.ndarray, voxel: tuple[float, ...]) -> float:
    """How far (µm) a nucleus' centre lies from the nearest side of the field."""
    _, y, x = nucleus.center
    height, width = movie.shape[2] * voxel[1], movie.shape[3] * voxel[2]
    return float(min(y, x, height - y, width - x))


def is_dim(movie: np.ndarray, nucleus: Any, voxel: Any, level: float = BRIGHT) -> bool:
    """Darker than ``level`` (BRIGHT: not clearly visible; FAINT: barely visible)."""
    return brightness(movie, nucleus, voxel) < level


def at_edge(movie: np.ndarray, nucleus: Any, voxel: tuple[float, ...]) -> bool:
    """Cut by the image edge: its centre nearer to a side than its radius."""
    return edge_distance(nucleus, movie, voxel) < lateral_radius(nucleus)


# ----------------------------------------------------------------- clicking
def clicks(truth: Any, movie: np.ndarray, voxel: tuple[float, ...], n: int) -> list[Any]:
    """The nuclei a user clicks first: at t = 0, clearly visible, whole (off the edge),
    spread over the field (each the farthest from those already picked)."""
    first = [
        nucleus
        for nucleus in truth.nuclei_at(0)
        if not is_dim(movie, nucleus, voxel)
        and edge_distance(nucleus, movie, voxel) > 2 * lateral_radius(nucleus)
    ]
    centres = np.array([nucleus.center for nucleus in first])
    middle = np.array([0.0, movie.shape[2] * voxel[1] / 2, movie.shape[3] * voxel[2] / 2])
    picked = [int(np.argmin(np.linalg.norm(centres[:, 1:] - middle[1:], axis=1)))]
    while len(picked) < min(n, len(first)):
        gaps = np.linalg.norm(centres[:, None, 1:] - centres[None, picked, 1:], axis=2)
        picked.append(int(np.argmax(gaps.min(axis=1))))
    return [first[i] for i in picked]


def add_like_a_user(viewer: Any, tools: Any, nucleus: Any, z_um: float) -> int:
    """Step to the nucleus' plane, point at its centre, A, then E or Q until it fits."""
    from napari_elephant._napari.editing import STEP

    plane = round(nucleus.center[0] / z_um) * z_um
    viewer.dims.set_point(1, plane)
    viewer.cursor.position = (float(nucleus.t), plane, *nucleus.center[1:])
    nid = tools.editor.add_at_cursor()  # A: at the typical size of the nuclei so far
    clicked = lateral_radius(tools.session.graph.nucleus(nid))
    steps = round(math.log(lateral_radius(nucleus) / clicked) / math.log(STEP))
    for _ in range(abs(steps)):
        tools.editor.scale(STEP if steps > 0 else 1 / STEP)  # E or Q
    return nid


def add_missed(viewer: Any, tools: Any, seen: Any, look: tuple[np.ndarray, Any], t: int) -> int:
    """A (then E / Q) on each nucleus of t that a person sees and that has no nucleus
    yet: the model's misses; barely visible ones are left alone.  Returns how many."""
    from napari_elephant.core.graph import Status

    movie, voxel = look
    graph, added = tools.session.graph, 0
    for nucleus in seen.nuclei_at(t):
        near = graph.nuclei(graph.within(t, nucleus.center, DMAX_UM).tolist())
        if is_dim(movie, nucleus, voxel, FAINT) or any(n.status != Status.REJECTED for n in near):
            continue
        add_like_a_user(viewer, tools, nucleus, voxel[0])
        added += 1
    tools.session.selection.clear()
    return added


# ---------------------------------------------------------------- the eye
def edge_blobs(frame: np.ndarray, truth_here: list[Any], voxel: tuple[float, ...]) -> list:
    """(y, x, radius) µm of the bright blobs touching the border of one plane that no
    silver-truth nucleus covers: cut nuclei that a person sees and the truth lacks."""
    from scipy import ndimage

    labels, _ = ndimage.label(ndimage.gaussian_filter(frame, SIGMA_PX) > BRIGHT)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    covered = {labels[pixel(n, voxel)[1:]] for n in truth_here if _inside(labels, n, voxel)}
    out = []
    for label in set(border.tolist()) - covered - {0}:
        ys, xs = np.nonzero(labels == label)
        if len(ys) >= MIN_EDGE_PX:
            radius = math.sqrt(len(ys) / math.pi) * voxel[1]
            out.append((ys.mean() * voxel[1], xs.mean() * voxel[2], radius))
    return out


def _inside(labels: np.ndarray, nucleus: Any, voxel: tuple[float, ...]) -> bool:
    """Whether a nucleus' centre pixel lies in the plane (a centroid can sit on the edge)."""
    _, y, x = pixel(nucleus, voxel)
    return 0 <= y < labels.shape[0] and 0 <= x < labels.shape[1]


def eye(truth: Any, movie: np.ndarray, voxel: tuple[float, ...]) -> tuple[Any, set[int]]:
    """What a person sees in a 2D movie: the silver truth plus the edge nuclei it
    leaves out (returned with their ids, to picture and count them)."""
    from napari_elephant.core.graph import TrackingGraph

    seen = TrackingGraph.from_records(truth.nuclei(), truth.links())
    added: set[int] = set()
    for t in range(movie.shape[0]):
        for y, x, radius in edge_blobs(movie[t, 0], seen.nuclei_at(t), voxel):
            added.add(seen.add_nucleus(t, (0.0, y, x), radius=radius))
    return seen, added


# ------------------------------------------------------------- the score
def misses(result: Any, truth: Any) -> tuple[list[int], list[int]]:
    """Ids of the result's unmatched nuclei (false positives) and of the truth's
    (false negatives), matched as ``napari-elephant evaluate --dmax 4`` does."""
    from napari_elephant.core.metrics import prepare

    found, true, matching = prepare(result, truth, DMAX_UM)
    matched = set(matching.values())
    fp = [nid for nid in found.time if nid not in matching]
    fn = [nid for nid in true.time if nid not in matched]
    return fp, fn
