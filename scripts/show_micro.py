"""Render a few random microscopy-like synthetic movies to PNGs, for a human to look at.

Each PNG is one movie: its timepoints side by side, each the maximum
projection along z (the middle slice below it for stacks), normalised
between the 0.5th and 99.8th percentile.  The style is printed.

    python scripts/show_micro.py OUT_DIR [--n 6] [--ndim 3] [--seed 0] [--truth]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from napari_elephant.core.synthetic import SyntheticMovie
from napari_elephant.core.synthetic_micro import generate_micro, random_style


def _normalise(a: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(a, [0.5, 99.8])
    return (np.clip((a.astype(np.float64) - lo) / max(hi - lo, 1e-9), 0, 1) * 255).astype(np.uint8)


def _outline(cov_yx: np.ndarray, center: np.ndarray, k: float) -> list[tuple[float, float]]:
    """Points (x, y) of the ellipse (x-c)ᵀ cov⁻¹ (x-c) = 1, in pixels times k."""
    vals, vecs = np.linalg.eigh(cov_yx)
    a = np.linspace(0, 2 * np.pi, 49)
    pts = center[:, None] + vecs @ (np.sqrt(vals)[:, None] * np.stack([np.cos(a), np.sin(a)]))
    return [(k * (x + 0.5), k * (y + 0.5)) for y, x in pts.T]


def _panel(movie: SyntheticMovie, t: int, truth: bool) -> Image.Image:
    """Max projection (and middle slice of a stack) of timepoint t, truth outlines optional."""
    stack = movie.image[t]
    views = [stack.max(axis=0)] + ([stack[len(stack) // 2]] if len(stack) > 1 else [])
    img = Image.fromarray(_normalise(np.concatenate(views, axis=0))).convert("RGB")
    k = max(1, int(np.ceil(256 / img.height)))  # small fields: enlarge so pixels stay visible
    img = img.resize((img.width * k, img.height * k), Image.Resampling.NEAREST)
    if truth:
        draw = ImageDraw.Draw(img)
        px = np.array([movie.voxel_size.y, movie.voxel_size.x])
        for nuc in movie.graph.nuclei_at(t):
            centre = np.asarray(nuc.center[1:]) / px
            cov = nuc.cov_matrix[1:, 1:] / np.outer(px, px)
            draw.line(_outline(cov, centre, k), fill=(255, 60, 60))
            x, y = k * (centre[1] + 0.5), k * (centre[0] + 0.5)
            draw.ellipse([x - 1, y - 1, x + 1, y + 1], fill=(60, 255, 60))
    return img


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="folder for the PNGs")
    ap.add_argument("--n", type=int, default=6, help="number of movies")
    ap.add_argument("--ndim", type=int, default=3, choices=(2, 3))
    ap.add_argument("--seed", type=int, default=0, help="seed of the styles and movies")
    ap.add_argument("--truth", action="store_true", help="outline the truth ellipses in red")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    for i in range(args.n):
        style = random_style(rng, args.ndim)
        movie = generate_micro(style, seed=args.seed + i)
        panels = [_panel(movie, t, args.truth) for t in range(movie.image.shape[0])]
        sheet = Image.new("RGB", (sum(p.width + 4 for p in panels), panels[0].height))
        for k, p in enumerate(panels):
            sheet.paste(p, (k * (p.width + 4), 0))
        path = args.out / f"micro_{args.ndim}d_{i:02d}.png"
        sheet.save(path)
        print(path, style)


if __name__ == "__main__":
    main()
