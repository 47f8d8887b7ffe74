"""How a sharp picture becomes the small, soft, noisy one an upscaler is
given: the low-resolution inputs of --task upscale, made from the training
crops as Real-ESRGAN makes them (Wang et al. 2021, "high-order degradation").

Most images go through two rounds of: blur (isotropic or anisotropic
Gaussian kernels, sometimes a sinc ringing kernel), a resize up or down with
a random method (area, bilinear, bicubic), noise (Gaussian, colour or grey,
or Poisson) and JPEG; the second round ends at the target size, with the
final sinc and JPEG in either order. Real photographs, scans and screenshots
pass through several such stages before an artist opens them, which a single
clean downscale does not show. The rest (CLEAN_SHARE) are plain downscales
with a random method, so a clean input is not "repaired" into something
else: an artist also upscales their own clean renders, and the benchmark's
area-averaged inputs are clean.

Every random draw comes from a numpy Generator seeded by (seed, step, rank),
so the degradations need no state of their own and a resumed run sees the
inputs it would have seen. Images are float32 HWC in [0, 1] here, one at a
time (per-image kernels and JPEG qualities; cv2 does the filtering).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import torch

CLEAN_SHARE = 0.3  # plain downscales among the training inputs
RESIZE_METHODS = (cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC)
# Round 1 and round 2 settings, Real-ESRGAN's (x4) with the blur scaled by the factor.
ROUNDS = (
    {"blur": 1.0, "sigma": (0.2, 3.0), "sinc": 0.1, "resize": (0.15, 1.5), "gauss": (1.0, 30.0),
     "poisson": (0.05, 3.0), "jpeg": (30, 95)},
    {"blur": 0.8, "sigma": (0.2, 1.5), "sinc": 0.1, "resize": (0.3, 1.2), "gauss": (1.0, 25.0),
     "poisson": (0.05, 2.5), "jpeg": (30, 95)},
)
FINAL_SINC = 0.8
KERNEL_SIZES = (7, 9, 11, 13, 15, 17, 19, 21)


def degrade_batch(hr: torch.Tensor, scale: int, seed: int | Sequence[int], clean_share: float = CLEAN_SHARE
                  ) -> torch.Tensor:
    """hr: float32 [N,3,H,W] in [-1,1] with H and W divisible by `scale` ->
    the inputs an upscaler learns from, float32 [N,3,H/scale,W/scale] in [-1,1].
    Deterministic in `seed` (an int or a tuple such as (seed, step, rank))."""
    rng = np.random.default_rng(seed)
    images = ((hr.detach().cpu().numpy().transpose(0, 2, 3, 1) + 1.0) / 2.0).clip(0.0, 1.0)
    target = (hr.shape[-2] // scale, hr.shape[-1] // scale)
    out = [(clean_downscale if rng.random() < clean_share else realistic)(image, target, scale, rng)
           for image in images]
    lr = np.stack(out).transpose(0, 3, 1, 2) * 2.0 - 1.0
    return torch.from_numpy(np.ascontiguousarray(lr, dtype=np.float32)).to(hr.device)


def clean_downscale(image: np.ndarray, target: tuple[int, int], scale: int, rng: np.random.Generator,
                    method: int | None = None) -> np.ndarray:
    """A plain downscale, with `method` (a cv2 INTER_ flag) or a random one
    (area averaging most often)."""
    if method is None:
        method = RESIZE_METHODS[rng.choice(3, p=(0.6, 0.2, 0.2))]
    return _resize(image, target, method)


def realistic(image: np.ndarray, target: tuple[int, int], scale: int, rng: np.random.Generator) -> np.ndarray:
    """Two rounds of blur, resize, noise and JPEG, ending at `target` (h, w)."""
    h, w = image.shape[:2]
    x = image
    for number, settings in enumerate(ROUNDS):
        if rng.random() < settings["blur"]:
            x = _filter(x, _kernel(rng, settings, scale))
        if number == 0:
            x = _resize(x, _scaled((h, w), rng.uniform(*settings["resize"])), _method(rng))
        else:  # round two resizes from wherever round one left it to near the target
            x = _resize(x, _scaled(target, rng.uniform(*settings["resize"])), _method(rng))
        x = _noise(x, rng, settings)
        if number == 0:
            x = _jpeg(x, rng.integers(*settings["jpeg"], endpoint=True))
    # The last stage, in either order: resize to the target + sinc, and JPEG.
    quality = rng.integers(*ROUNDS[1]["jpeg"], endpoint=True)
    if rng.random() < 0.5:
        x = _final_resize(x, target, rng)
        x = _jpeg(x, quality)
    else:
        x = _jpeg(x, quality)
        x = _final_resize(x, target, rng)
    return x


def _final_resize(x: np.ndarray, target: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    x = _resize(x, target, _method(rng))
    if rng.random() < FINAL_SINC:
        size = int(rng.choice(KERNEL_SIZES))
        x = _filter(x, _sinc_kernel(size, rng.uniform(math.pi / 3, math.pi)))
    return x


def _method(rng: np.random.Generator) -> int:
    return RESIZE_METHODS[rng.integers(3)]


def _scaled(size: tuple[int, int], factor: float) -> tuple[int, int]:
    return max(1, int(round(size[0] * factor))), max(1, int(round(size[1] * factor)))


def _resize(x: np.ndarray, size: tuple[int, int], method: int) -> np.ndarray:
    if x.shape[:2] == size:
        return x
    if method == cv2.INTER_AREA and (size[0] > x.shape[0] or size[1] > x.shape[1]):
        method = cv2.INTER_LINEAR  # area averaging only shrinks
    return cv2.resize(x, (size[1], size[0]), interpolation=method).clip(0.0, 1.0)


def _filter(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return cv2.filter2D(x, -1, kernel.astype(np.float32), borderType=cv2.BORDER_REFLECT_101).clip(0.0, 1.0)


def _kernel(rng: np.random.Generator, settings: dict, scale: int) -> np.ndarray:
    """A blur kernel: mostly Gaussian (isotropic or rotated anisotropic), sometimes sinc."""
    size = int(rng.choice(KERNEL_SIZES))
    if rng.random() < settings["sinc"]:
        return _sinc_kernel(size, rng.uniform(math.pi / 3, math.pi) if size < 13 else rng.uniform(math.pi / 5, math.pi))
    low, high = settings["sigma"]
    high = low + (high - low) * scale / 4  # an x2 model sees the blur of half the distance
    sx = rng.uniform(low, high)
    sy = sx if rng.random() < 0.5 else rng.uniform(low, high)
    angle = rng.uniform(-math.pi, math.pi)
    half = size // 2
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float64)
    c, s = math.cos(angle), math.sin(angle)
    u, v = c * xx + s * yy, -s * xx + c * yy
    kernel = np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))
    return kernel / kernel.sum()


def _sinc_kernel(size: int, cutoff: float) -> np.ndarray:
    """A circular low-pass (jinc) kernel: the ringing of sharpened or
    over-compressed pictures."""
    half = size // 2
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float64)
    r = np.hypot(xx, yy)
    with np.errstate(divide="ignore", invalid="ignore"):
        kernel = cutoff * _bessel_j1(cutoff * r) / (2 * math.pi * r)
    kernel[half, half] = cutoff ** 2 / (4 * math.pi)
    return kernel / kernel.sum()


def _bessel_j1(x: np.ndarray) -> np.ndarray:
    """Bessel J1 from its integral form, (1/pi) * integral over [0, pi] of
    cos(t - x sin t) dt, by the midpoint rule (numpy has no J1; 64 points are
    exact to 1e-12 for the arguments here)."""
    t = (np.arange(64) + 0.5) * (math.pi / 64)
    return np.cos(t - x[..., None] * np.sin(t)).mean(axis=-1)


def _noise(x: np.ndarray, rng: np.random.Generator, settings: dict) -> np.ndarray:
    grey = rng.random() < 0.4
    if rng.random() < 0.5:
        sigma = rng.uniform(*settings["gauss"]) / 255.0
        shape = x.shape[:2] + ((1,) if grey else (3,))
        return (x + rng.normal(0.0, sigma, shape).astype(np.float32)).clip(0.0, 1.0)
    scale = rng.uniform(*settings["poisson"])
    levels = 10 ** (2 * rng.random() + 2)  # photons per unit of brightness: 100 to 10,000
    base = x.mean(axis=2, keepdims=True) if grey else x
    noisy = rng.poisson(base * levels) / levels
    return (x + ((noisy - base) * scale).astype(np.float32)).clip(0.0, 1.0)


def _jpeg(x: np.ndarray, quality: int) -> np.ndarray:
    pixels = (x * 255.0 + 0.5).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", pixels[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # cv2 encodes any 8-bit 3-channel image; kept as it was if it ever does not
        return x
    return cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255.0
