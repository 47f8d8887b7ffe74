"""Dead-leaves pictures: made images with the statistics of photographs.

The allowed training data has no photographs (emoji, clip art, rendered
backgrounds: flat colours and clean edges), and an upscaler trained on it
sharpens a photo's textures into edges it never had. The dead-leaves model
(Matheron; Lee, Mumford and Huang 2001) drops opaque shapes of random colour
whose sizes follow a power law, each hiding what lies under it: its pictures
share the scale invariance, the edge and occlusion statistics and the 1/f
spectrum of natural photos, and restoration networks trained on them come
close to ones trained on photos (Achddou, Gousseau and Ladjal 2021). Here the
shapes are ellipses and polygons at any angle, shaded by a smooth light
field, drawn at twice the size and averaged down (anti-aliased, as a camera's
pixels are), then blurred by a random depth of field (from barely to very
soft: a first version with at most 1.5 px of blur taught an upscaler to
sharpen the soft edges of a photo) and given a little sensor noise.

    python benchmarks/folders.py dead-leaves DEST        # DEST/dead-leaves/*.png
    python benchmarks/folders.py dead-leaves-soft DEST   # DEST/dead-leaves-soft/*.png (blur SOFT_BLUR)
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SUPERSAMPLE = 2
SMALLEST = (1.0, 8.0)  # radii at the picture's scale, px: from 1 to 8 (the picture's choice) ...
LARGEST_SHARE = 0.5  # ... to half the picture's side
PALETTE = (2, 6)  # colours a picture's leaves vary around: a scene's few materials
COVER = 3.0  # leaves drawn: enough to cover the picture this many times over
BLUR = (0.3, 10.0)  # depth of field and motion, Gaussian sigma in px at the picture's scale, log-uniform:
# photographs are soft as often as sharp, and an upscaler that saw only sharp edges sharpens every soft one
SOFT_BLUR = (3.0, 30.0)  # the soft set's: skies, mist and out-of-focus backgrounds, where an upscaler
# that learnt from mostly sharp pictures still draws edges (0.3.0 lost 1.2 dB to Lanczos on such a photo)
MAX_NOISE = 2.0  # sensor noise, sigma in levels of 255


def dead_leaves(size: int, rng: np.random.Generator, blur: tuple[float, float] = BLUR) -> np.ndarray:
    """One size x size RGB picture (uint8), blurred by a Gaussian whose sigma
    (px) is drawn log-uniformly from `blur`."""
    big = size * SUPERSAMPLE
    low, high = rng.uniform(*SMALLEST) * SUPERSAMPLE, LARGEST_SHARE * big
    # Radii with density r^-3 on [low, high] (scale invariance), by inverting its distribution.
    a, b = low ** -2, high ** -2
    mean_area = math.pi * 2 * math.log(high / low) / (a - b)
    count = int(COVER * big * big / mean_area)
    radii = (a - rng.random(count) * (a - b)) ** -0.5
    centres = rng.random((count, 2)) * big
    colours = _colours(rng, count, rng.integers(PALETTE[0], PALETTE[1] + 1))
    picture = Image.new("RGB", (big, big), tuple(int(c) for c in colours[0]))
    draw = ImageDraw.Draw(picture)
    for (x, y), r, colour in zip(centres, radii, colours):
        draw.polygon(_outline(rng, x, y, r), fill=tuple(int(c) for c in colour))
    pixels = np.asarray(picture, np.float32) * _light(rng, big)[..., None]
    small = pixels.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE, 3).mean(axis=(1, 3))
    blurred = Image.fromarray(np.clip(small, 0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(math.exp(rng.uniform(math.log(blur[0]), math.log(blur[1])))))
    noisy = np.asarray(blurred, np.float32) + rng.normal(0, rng.random() * MAX_NOISE, (size, size, 3))
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def _colours(rng: np.random.Generator, count: int, materials: int) -> np.ndarray:
    """RGB 0..255 for `count` leaves: each a small variation of one of a few
    colours (a scene's materials), mostly muted as a photograph's are: any
    hue, saturation leaning low, any value but the extremes."""
    base = np.stack([rng.random(materials), rng.beta(1.2, 2.5, materials), 0.08 + 0.88 * rng.random(materials)], 1)
    hsv = base[rng.integers(0, materials, count)] + rng.normal(0, 1, (count, 3)) * (0.03, 0.08, 0.12)
    hsv[:, 0] %= 1.0
    hsv = (np.clip(hsv, 0, 1) * 255).astype(np.uint8)[None]
    return np.asarray(Image.fromarray(hsv, "HSV").convert("RGB"))[0]


def _outline(rng: np.random.Generator, x: float, y: float, r: float) -> list[tuple[float, float]]:
    """An ellipse (three leaves in four) or a polygon of 3-6 corners, at any
    angle, about r across."""
    angle = rng.random() * math.pi
    if rng.random() < 0.75:
        stretch = 1.0 + rng.random() * 2.0
        t = np.linspace(0, 2 * math.pi, max(8, min(48, int(r))), endpoint=False)
        u, v = r * np.cos(t) * math.sqrt(stretch), r * np.sin(t) / math.sqrt(stretch)
    else:
        t = np.sort(rng.random(rng.integers(3, 7))) * 2 * math.pi
        u, v = r * np.cos(t), r * np.sin(t)
    c, s = math.cos(angle), math.sin(angle)
    return list(zip((x + u * c - v * s).tolist(), (y + u * s + v * c).tolist()))


def _light(rng: np.random.Generator, big: int) -> np.ndarray:
    """A smooth light field around 1 (0.6 to 1.4 at most): shading across
    the leaves, so not every one is a flat colour."""
    coarse = rng.random((4, 4)).astype(np.float32)
    field = np.asarray(Image.fromarray(coarse, "F").resize((big, big), Image.BICUBIC))
    return 1.0 + (field - field.mean()) * 0.8 * rng.random()
