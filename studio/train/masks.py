"""Random hole masks for training and measuring the inpainting network, of
every kind an artist paints: thin brush strokes, boxes, large blobs (up to
half the image) and shapes that touch the image border.

Every mask is drawn from a numpy Generator, so a seed (or a (seed, step)
pair) always gives the same mask: a resumed run sees the masks it would have
seen, and metrics compare like with like. Masks are float32 with 1 = hole,
0 = known pixel.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

KINDS = ("strokes", "box", "blob", "border")
# Hole area as a fraction of the image, per kind (inclusive). The trainer's
# mix spans small touch-ups to half the picture gone.
COVERAGE = {"strokes": (0.02, 0.30), "box": (0.05, 0.40), "blob": (0.10, 0.50), "border": (0.05, 0.50)}
# How often each kind is drawn in training: blobs and strokes are what
# people paint most; boxes and border shapes keep the rarer cases learnt.
WEIGHTS = {"strokes": 0.3, "box": 0.2, "blob": 0.3, "border": 0.2}
MIN_SIZE = 16
_ATTEMPTS = 60  # elements tried before a mask is accepted as it is


def draw_mask(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One mask of `kind` (see KINDS): float32 [size, size], 1 = hole, its
    hole area within COVERAGE[kind] of the image. size >= 16 px."""
    if kind not in COVERAGE:
        raise ValueError(f"unknown mask kind {kind!r}; choose one of: {', '.join(KINDS)}")
    if size < MIN_SIZE:
        raise ValueError(f"masks need at least {MIN_SIZE} px, got {size}")
    lo, hi = COVERAGE[kind]
    target = rng.uniform(lo, hi)
    if kind == "blob":
        return _blob(size, rng, target, lo, hi)
    element = {"strokes": _stroke, "box": _box, "border": _border_shape}[kind]
    return _grow(size, rng, target, lo, hi, element)


def random_mask(size: int, rng: np.random.Generator, kinds: Sequence[str] = KINDS) -> tuple[np.ndarray, str]:
    """(mask float32 [size, size], its kind): a kind drawn by WEIGHTS among
    `kinds`, then a mask of it."""
    weights = np.array([WEIGHTS[k] for k in kinds], dtype=np.float64)
    kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
    return draw_mask(kind, size, rng), kind


def mask_batch(count: int, size: int, seed: int | Sequence[int], kinds: Sequence[str] = KINDS) -> np.ndarray:
    """`count` masks, float32 [count, 1, size, size], 1 = hole, kinds mixed
    by WEIGHTS; the same seed (an int or a sequence such as (run seed, step))
    always gives the same batch."""
    rng = np.random.default_rng(seed)
    return np.stack([random_mask(size, rng, kinds)[0] for _ in range(count)])[:, None]


def fixed_masks(count: int, size: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """`count` masks cycling through every kind in KINDS order (for sample
    grids and metrics): (float32 [count, 1, size, size], kinds)."""
    rng = np.random.default_rng(seed)
    kinds = [KINDS[i % len(KINDS)] for i in range(count)]
    return np.stack([draw_mask(k, size, rng) for k in kinds])[:, None], kinds


def coverage(mask: np.ndarray) -> float:
    """Hole fraction of a mask (any shape, 1 = hole) in [0, 1]."""
    return float(np.asarray(mask, dtype=np.float32).mean())


# -- drawing -------------------------------------------------------------------

def _grow(size: int, rng: np.random.Generator, target: float, lo: float, hi: float, element) -> np.ndarray:
    """Add elements until the hole reaches `target`; an element that would
    push it past `hi` is left out, and each later try draws smaller ones, so
    the result lands in [lo, hi]."""
    canvas = Image.new("L", (size, size), 0)
    area = 0.0
    for attempt in range(_ATTEMPTS):
        shrink = 1.0 - 0.8 * attempt / _ATTEMPTS  # later elements are smaller
        trial = canvas.copy()
        element(ImageDraw.Draw(trial), size, rng, shrink)
        covered = _area(trial)
        if covered <= hi:
            canvas, area = trial, covered
        if area >= target:
            break
    if area < lo:  # only with absurd luck: widen the strokes until there is enough hole
        while _area(canvas) < lo:
            canvas = canvas.filter(ImageFilter.MaxFilter(3))
    return _binary(canvas)


def _stroke(draw: ImageDraw.ImageDraw, size: int, rng: np.random.Generator, shrink: float) -> None:
    # A brush walk: a few segments with a drifting direction, drawn with
    # round joints and caps, 1..~8% of the side wide.
    width = max(1, int(round(rng.uniform(0.01, 0.08) * size * shrink)))
    x, y = rng.uniform(0, size, 2)
    angle = rng.uniform(0, 2 * math.pi)
    points = [(x, y)]
    for _ in range(int(rng.integers(3, 10))):
        angle += rng.normal(0, 0.8)
        step = rng.uniform(0.05, 0.25) * size * shrink
        x = float(np.clip(x + step * math.cos(angle), 0, size - 1))
        y = float(np.clip(y + step * math.sin(angle), 0, size - 1))
        points.append((x, y))
    draw.line(points, fill=255, width=width, joint="curve")
    r = width / 2
    for px, py in (points[0], points[-1]):
        draw.ellipse([px - r, py - r, px + r, py + r], fill=255)


def _box(draw: ImageDraw.ImageDraw, size: int, rng: np.random.Generator, shrink: float) -> None:
    w, h = (rng.uniform(0.1, 0.6, 2) * size * shrink).astype(int) + 2
    left, top = rng.integers(0, max(1, size - w)), rng.integers(0, max(1, size - h))
    draw.rectangle([left, top, left + w - 1, top + h - 1], fill=255)


def _border_shape(draw: ImageDraw.ImageDraw, size: int, rng: np.random.Generator, shrink: float) -> None:
    # A band along one edge with a ragged inner side (outpainting, a cropped
    # photo's missing strip), or a box pushed into a corner.
    if rng.random() < 0.6:
        depth = rng.uniform(0.05, 0.4) * size * shrink
        ragged = [(t, depth * rng.uniform(0.6, 1.0)) for t in np.linspace(0, size, 7)]
        edge = int(rng.integers(4))
        inner = [_on_edge(edge, t, d, size) for t, d in ragged]
        outer = [_on_edge(edge, size, 0, size), _on_edge(edge, 0, 0, size)]
        draw.polygon(inner + outer, fill=255)
    else:
        w, h = (rng.uniform(0.15, 0.6, 2) * size * shrink).astype(int) + 2
        left = 0 if rng.random() < 0.5 else size - w
        top = 0 if rng.random() < 0.5 else size - h
        draw.rectangle([left, top, left + w - 1, top + h - 1], fill=255)


def _on_edge(edge: int, along: float, depth: float, size: int) -> tuple[float, float]:
    """A point `depth` px in from edge 0 top, 1 right, 2 bottom, 3 left, `along` px along it."""
    last = size - 1
    return [(along, depth), (last - depth, along), (along, last - depth), (depth, along)][edge]


def _blob(size: int, rng: np.random.Generator, target: float, lo: float, hi: float) -> np.ndarray:
    """A smooth, irregular blob: overlapping ellipses around a wandering
    centre (grown like the other kinds until the hole reaches `target`),
    its outline then rounded by a blur and a threshold at half height."""
    centre = list(rng.uniform(0.25, 0.75, 2) * size)

    def ellipse(draw: ImageDraw.ImageDraw, size: int, rng: np.random.Generator, shrink: float) -> None:
        r = rng.uniform(0.1, 0.25) * size * shrink
        ax, ay = r * rng.uniform(0.6, 1.4), r * rng.uniform(0.6, 1.4)
        cx, cy = centre
        draw.ellipse([cx - ax, cy - ay, cx + ax, cy + ay], fill=255)
        centre[0] = float(np.clip(cx + rng.normal(0, 0.12) * size, 0, size))
        centre[1] = float(np.clip(cy + rng.normal(0, 0.12) * size, 0, size))

    mask = _grow(size, rng, target, lo, hi, ellipse)
    blurred = Image.fromarray((mask * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(max(1.0, size * 0.03)))
    smooth = _binary(blurred)
    return smooth if lo <= float(smooth.mean()) <= hi else mask


def _area(image: Image.Image) -> float:
    return float(np.count_nonzero(np.asarray(image))) / (image.width * image.height)


def _binary(image: Image.Image) -> np.ndarray:
    return (np.asarray(image) > 127).astype(np.float32)
