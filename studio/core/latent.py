"""Latent vectors: seeds, truncation and interpolation paths.

Shared by the app, the CLI and the trainer so that seed 42 means the same image
everywhere.
"""

from __future__ import annotations

import numpy as np


def latent_from_seed(seed: int, size: int) -> np.ndarray:
    """The latent of `seed`: float32 [size], standard normal."""
    return np.random.default_rng(int(seed)).standard_normal(size, dtype=np.float32)


def truncate(latent: np.ndarray, truncation: float) -> np.ndarray:
    """Pull latents toward the mean of the prior (0): 1.0 = unchanged, 0.0 = mean.

    Our generators have no mapping network, so the truncation trick is a plain
    scale of z; lower values trade variety for typical, cleaner images.
    """
    return (latent * np.float32(truncation)).astype(np.float32)


def lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return ((1.0 - t) * a + t * b).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation: keeps the norm typical of Gaussian latents, so
    mid-points do not fade toward the blurry mean image as lerp's do."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return lerp(a, b, t)
    cos = float(np.clip(np.dot(a / na, b / nb), -1.0, 1.0))
    omega = np.arccos(cos)
    if omega < 1e-6:
        return lerp(a, b, t)
    so = np.sin(omega)
    return ((np.sin((1.0 - t) * omega) / so) * a + (np.sin(t * omega) / so) * b).astype(np.float32)


INTERPOLATORS = {"slerp": slerp, "lerp": lerp}


def path_point(keys: list[np.ndarray], position: float, mode: str = "slerp", loop: bool = False) -> np.ndarray:
    """The latent at `position` along a path through keyframes.

    position: 0..1 over the whole path. With loop, the path returns from the
    last keyframe to the first, so position 1.0 equals position 0.0.
    """
    if not keys:
        raise ValueError("a path needs at least one keyframe")
    if len(keys) == 1:
        return keys[0].astype(np.float32)
    points = list(keys) + ([keys[0]] if loop else [])
    segments = len(points) - 1
    x = float(np.clip(position, 0.0, 1.0)) * segments
    i = min(int(x), segments - 1)
    return INTERPOLATORS[mode](points[i], points[i + 1], x - i)


def path_frames(keys: list[np.ndarray], frames: int, mode: str = "slerp", loop: bool = False) -> np.ndarray:
    """`frames` latents evenly along the path: float32 [frames, size].

    A looping path leaves out the end point, which repeats the first frame, so
    the animation cycles without a stutter.
    """
    if frames < 1:
        raise ValueError("frames must be at least 1")
    denom = frames if loop else max(frames - 1, 1)
    return np.stack([path_point(keys, i / denom, mode, loop) for i in range(frames)])
