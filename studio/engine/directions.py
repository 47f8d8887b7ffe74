"""Latent directions: the few ways a generator's pictures vary most, as
directions in its latent space, so sliders can move a frame along them
(GANSpace, Härkönen et al. 2020).

GANSpace takes principal components of an early feature layer and carries
them into the latent by regression. Our models expose only latent ->
image, so the features here are the pictures themselves, small: SAMPLES
latents drawn with a fixed seed are rendered and area-averaged to FEATURE_PX,
their principal components found, and the latent regressed on each
component's coordinate (least squares), which gives the latent direction
that moves the picture along it. The components are uncorrelated, so one
regression per component is the multivariate one. Each direction is scaled
to unit length: a slider's value is then in standard deviations of the
prior (moving +1 shifts a typical latent as far as one sigma of N(0, 1)).
Any generator has them, with or without an encoder.

Computed once per model (a few seconds: SAMPLES renders) and cached by the
model's sha256 under core.paths.cache_root()/directions.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from studio.core.atomic import atomic_path
from studio.core.paths import cache_root
from studio.engine.generator import Generator

COUNT = 6  # directions offered (fewer for a latent smaller than that)
SAMPLES = 384  # latents the components are found on
FEATURE_PX = 24  # side the pictures are averaged down to before PCA
SEED = 20201  # fixed, so every machine finds the same directions
BATCH = 32
VERSION = 1  # bump when the method changes, so old cache files are not reused


def cache_path(generator: Generator):
    return cache_root() / "directions" / f"v{VERSION}-{generator.sha256[:32]}-{COUNT}.npz"


def latent_directions(generator: Generator, cancelled=lambda: False) -> np.ndarray | None:
    """float32 [count, latent_size] (count = COUNT, or the latent size when
    smaller), unit rows, most varied first; from the cache when there, else
    computed and cached. None when `cancelled()` turned true during the renders."""
    count = min(COUNT, generator.latent_size)
    path = cache_path(generator)
    if path.is_file():
        try:
            with np.load(path) as cached:
                directions = cached["directions"]
            if directions.shape == (count, generator.latent_size):
                return directions
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is computed again
    latents = np.random.default_rng(SEED).standard_normal((SAMPLES, generator.latent_size)).astype(np.float32)
    features = []
    for start in range(0, SAMPLES, BATCH):
        if cancelled():
            return None
        features += [_small(image) for image in generator.render(latents[start:start + BATCH])]
    directions = find_directions(latents, np.stack(features), count)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, directions=directions)
    return directions


def find_directions(latents: np.ndarray, features: np.ndarray, count: int) -> np.ndarray:
    """latents [N, L], the features [N, D] they gave -> [count, L] unit
    latent directions along the features' first `count` principal
    components, each signed so that moving along it raises its component."""
    centred = features - features.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    coordinates = centred @ components[:count].T  # [N, count], uncorrelated
    z = latents - latents.mean(axis=0)
    directions = (coordinates.T @ z) / (coordinates ** 2).sum(axis=0)[:, None]
    return (directions / np.linalg.norm(directions, axis=1, keepdims=True)).astype(np.float32)


def _small(image: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((FEATURE_PX, FEATURE_PX), Image.Resampling.BOX),
                      np.float32).ravel() / 255.0
