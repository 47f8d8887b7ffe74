"""Content-aware fill: the hole is rebuilt from patches of the picture's own
known pixels (Wexler, Shechtman & Irani 2007, "Space-time completion of
video"), the nearest patches found by PatchMatch (Barnes et al. 2009), so a
texture (wood grain, grass, brick, a flat colour with noise) continues into
the hole instead of being smeared across it as Telea and Navier-Stokes do.

Coarse to fine over an image pyramid: at the coarsest level the hole is a
few pixels across and starts as Telea's fill; at each level, a few rounds of
(1) PatchMatch: every patch that touches the hole looks for the most similar
patch lying wholly in the known pixels, similar in its low spatial
frequencies (see FREQUENCIES; candidates: its neighbours' matches
shifted by one step, at jumps of 4, 2 and 1 px; then random ones around its
own, in shrinking windows), and (2) voting: each hole pixel becomes the
weighted mean of what the patches covering it say it is (weights fall off
with a patch's distance to its match). The match field and the fill are
then doubled to the next level, where they start the search. Everything is
numpy over all target patches at once (no per-pixel Python loop).

fill(rgb, holes) works on one window of the picture (inpaint.py crops each
hole region with its context margin); the sources are that window's known
pixels. Deterministic: a fixed seed drives the random search.
"""

from __future__ import annotations

import cv2
import numpy as np

from studio.engine.seam import blend_seam

RADIUS = 3  # patches are 7 x 7
COARSEST = 3  # px of hole depth (distance to the nearest known pixel) at the coarsest level
MIN_SIDE = 24  # px; no level is made smaller than this
# Rounds of search-and-vote per level (one at the finest: the coarser ones did
# the work). On a plank texture 3 left the hole's outline visible, 5 did not;
# comparing every other pixel of a patch (half the time) left it visible too.
EM_STEPS = 5
JUMPS = (4, 2, 1)  # propagation steps per search, px of that level (1 at the finest)
RANDOM_TRIES = 5  # random candidates per search, in windows from the whole level (at the finest
FINE_WINDOW = 8  # from this many px) down to 1 px, shrinking geometrically
SEED = 0
TELEA_RADIUS = 5  # px, as engine.inpaint's classical fill
MIN_WEIGHT = 1e-6  # least vote weight of a patch (see Level.vote)
# Patches are compared by their lowest spatial frequencies (a 4 x 4 block of
# the 7 x 7 cosine transform, per channel: 48 numbers instead of 147, one
# contiguous row per position): 2.5x faster, and on stripes 9 px apart as
# exact as all 147 (3 x 3 lost them: the hole came out as smeared as
# Telea's). The votes still copy whole patches. A basis fitted to each
# picture (its principal components) was tried: its eigendecomposition took
# 300 ms with onnxruntime busy beside it (numpy's threaded BLAS waiting for
# cores), against 3-8 ms alone.
FREQUENCIES = 4


def _cosine_kernels() -> list[tuple[int, np.ndarray]]:
    side = 2 * RADIUS + 1
    n = np.arange(side)
    waves = [np.cos(np.pi * (2 * n + 1) * u / (2 * side)) for u in range(FREQUENCIES)]
    kernels = []
    for channel in range(3):
        for wy in waves:
            for wx in waves:
                kernel = np.outer(wy, wx)
                kernels.append((channel, (kernel / np.linalg.norm(kernel)).astype(np.float32)))
    return kernels


def _feature_basis(kernels: list[tuple[int, np.ndarray]]) -> np.ndarray:
    """The kernels as one matrix: row (patch pixel * 3 + channel), in the
    order of Level.offsets (rows of the patch, then columns), column k the
    k-th kernel, so a patch's 147 values times it are its 48 features."""
    basis = np.zeros(((2 * RADIUS + 1) ** 2 * 3, len(kernels)), np.float32)
    for k, (channel, kernel) in enumerate(kernels):
        basis[channel::3, k] = kernel.reshape(-1)
    return basis


_KERNELS = _cosine_kernels()
_BASIS = _feature_basis(_KERNELS)
MERGE_GROUP = 8  # feature planes made and interleaved at once (32 bytes per px, twice)
TARGET_CHUNK = 65536  # target patches gathered at once (147 floats each: 38 MB)


def fill(rgb: np.ndarray, holes: np.ndarray, blend: bool = True) -> np.ndarray:
    """uint8 hxwx3 and bool hxw (True = hole) -> float32 hxwx3 in 0..255:
    the holes filled from the known pixels' patches and their border blended
    into the picture, the rest as given. A window with no whole patch of
    known pixels to copy from gets Telea. blend=False leaves the border as
    the patches made it (benchmarks/fill_seams.py compares the two)."""
    rgb = np.ascontiguousarray(rgb[..., :3])
    holes = np.asarray(holes, bool)
    original = rgb.astype(np.float32)
    if not holes.any():
        return original
    pyramid = _pyramid(original, holes)
    rng = np.random.default_rng(SEED)
    estimate = coarse = None
    for depth, (image, hole) in enumerate(reversed(pyramid)):
        finest = depth == len(pyramid) - 1
        if estimate is None:
            estimate = _telea(image, hole)
        else:
            estimate = cv2.resize(estimate, image.shape[1::-1], interpolation=cv2.INTER_LINEAR)
        level = Level(image, hole, estimate)
        if not level.source_y.size:
            if finest:
                return _telea(original, holes)
            estimate = None  # too coarse to hold a whole known patch: start at the next level
            continue
        # The finest level only refines a field a coarser level found; a
        # pyramid of one level (a thin hole) searches from scratch in full.
        refine = finest and coarse is not None
        field = level.random_field(rng) if coarse is None else level.upsampled(coarse, rng)
        for _ in range(1 if refine else EM_STEPS):
            level.refresh_targets()
            field, distance = level.search(field, rng, refine)
            estimate = level.vote(field, distance)
        coarse = _Offsets(level, field)
    # Patches copy texture, not the light where the hole sits: spread the
    # colour step at the border over the hole (seam.py), so no outline shows.
    filled = np.where(holes[..., None], estimate, original)
    return blend_seam(filled, holes) if blend else filled


def _telea(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    return cv2.inpaint(np.clip(image, 0, 255).astype(np.uint8), hole.astype(np.uint8) * 255, TELEA_RADIUS,
                       cv2.INPAINT_TELEA).astype(np.float32)


def _pyramid(image: np.ndarray, holes: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(image, hole)] from full size down, halving until the hole is at most
    COARSEST px deep or a side would drop under MIN_SIDE. A coarse pixel is
    a hole when any of its fine pixels is."""
    depth = float(cv2.distanceTransform(holes.astype(np.uint8), cv2.DIST_L2, 3).max())
    levels = [(image, holes)]
    while depth > COARSEST and min(levels[-1][1].shape) // 2 >= MIN_SIDE:
        image, hole = levels[-1]
        size = (hole.shape[1] // 2, hole.shape[0] // 2)
        smaller = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        levels.append((smaller, cv2.resize(hole.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0))
        depth /= 2
    return levels


class Level:
    """One pyramid level, padded by RADIUS (reflected) so every pixel can be
    a patch centre. Positions are flat indices into the padded image."""

    def __init__(self, image: np.ndarray, hole: np.ndarray, estimate: np.ndarray):
        r = RADIUS
        self.shape = hole.shape
        known = np.where(hole[..., None], estimate, image).astype(np.float32)
        self.image = cv2.copyMakeBorder(known, r, r, r, r, cv2.BORDER_REFLECT_101)
        self.pixels = self.image.reshape(-1, 3)  # a view: votes write into the image
        padded = cv2.copyMakeBorder(hole.astype(np.uint8), r, r, r, r, cv2.BORDER_REFLECT_101)
        self.height, self.width = padded.shape
        dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
        self.offsets = (dy * self.width + dx).reshape(-1)  # flat offsets of a patch's pixels
        inner = np.zeros_like(padded, bool)
        inner[r:-r, r:-r] = True
        near_hole = cv2.dilate(padded, np.ones((2 * r + 1, 2 * r + 1), np.uint8)) > 0
        # Sources: centres whose whole patch is known. Targets: centres in the
        # picture itself whose patch touches the hole.
        self.valid = (~near_hole & inner).reshape(-1)
        self.source_y, self.source_x = np.nonzero(~near_hole & inner)
        self.target_y, self.target_x = np.nonzero(near_hole & inner)
        targets = self.target_y * self.width + self.target_x
        self.index = np.full(self.height * self.width, -1, np.int64)  # flat position -> target number
        self.index[targets] = np.arange(targets.size)
        self.targets = targets
        holes = np.zeros_like(padded, bool)
        holes[r:-r, r:-r] = hole
        self.holes = np.flatnonzero(holes)
        # Every position's patch features: one 7 x 7 correlation per feature,
        # interleaved into a row per position by cv2.merge, MERGE_GROUP
        # features at a time (2.6x faster than numpy's column-by-column copy;
        # the group bounds the planes held beside the result).
        self.features = np.empty((self.height * self.width, len(_KERNELS)), np.float32)
        channels = [np.ascontiguousarray(self.image[..., channel]) for channel in range(3)]
        for start in range(0, len(_KERNELS), MERGE_GROUP):
            planes = [cv2.filter2D(channels[channel], cv2.CV_32F, kernel, borderType=cv2.BORDER_REFLECT)
                      for channel, kernel in _KERNELS[start:start + MERGE_GROUP]]
            self.features[:, start:start + len(planes)] = cv2.merge(planes).reshape(self.features.shape[0], -1)
        self.target_features = self.features[self.targets]

    def refresh_targets(self) -> None:
        """The targets' patch features as the current fill makes them. Only
        theirs: a vote writes hole pixels, which only targets' patches cover,
        so the sources' features stay as __init__ measured them (recomputing
        the whole window each round was 3/4 of a long stroke's fill)."""
        for start in range(0, self.targets.size, TARGET_CHUNK):
            centres = self.targets[start:start + TARGET_CHUNK]
            patches = self.pixels[centres[:, None] + self.offsets[None, :]]
            self.features[centres] = patches.reshape(centres.size, -1) @ _BASIS
        self.target_features = self.features[self.targets]

    def _distance(self, sources: np.ndarray, ok: np.ndarray | None = None) -> np.ndarray:
        """Squared distance between the features of each target's patch and
        of the patch centred at its source (a flat position), where `ok`
        (default: all); infinite elsewhere."""
        ok = np.ones(sources.shape, bool) if ok is None else ok
        result = np.full(sources.shape, np.inf, np.float32)
        if ok.any():
            diff = self.features[sources[ok]] - self.target_features[ok]
            result[ok] = np.einsum("nk,nk->n", diff, diff)
        return result

    def _checked(self, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Flat positions of candidate centres, -1 where no valid source."""
        inside = (y >= 0) & (y < self.height) & (x >= 0) & (x < self.width)
        flat = np.where(inside, y * self.width + x, 0)
        return np.where(inside & self.valid[flat], flat, -1)

    def random_field(self, rng: np.random.Generator) -> np.ndarray:
        pick = rng.integers(0, self.source_y.size, self.targets.size)
        return self.source_y[pick] * self.width + self.source_x[pick]

    def upsampled(self, coarse: "_Offsets", rng: np.random.Generator) -> np.ndarray:
        """The coarser level's matches, doubled, as this level's starting
        field; a target whose doubled match is no source here gets a random one."""
        cy = np.minimum((self.target_y - RADIUS) // 2, coarse.y.shape[0] - 1)
        cx = np.minimum((self.target_x - RADIUS) // 2, coarse.y.shape[1] - 1)
        field = self._checked(self.target_y + 2 * coarse.y[cy, cx], self.target_x + 2 * coarse.x[cy, cx])
        missing = field < 0
        field[missing] = self.random_field(rng)[missing]
        return field

    def _try(self, best: np.ndarray, distance: np.ndarray, candidate: np.ndarray) -> None:
        """Keep each candidate (-1 = none) that beats the target's best so far.
        A candidate equal to the best (most of them, where the field is
        coherent) is not measured again."""
        d = self._distance(candidate, (candidate >= 0) & (candidate != best))
        better = d < distance
        best[better], distance[better] = candidate[better], d[better]

    def search(self, field: np.ndarray, rng: np.random.Generator, refine: bool) -> tuple[np.ndarray, np.ndarray]:
        """PatchMatch on the current target patches: propagation from the
        neighbours at each jump (their match, shifted by the step between
        them), then random candidates around the match in shrinking windows
        (refine: a field a coarser level found, so 1 px jumps and windows
        from FINE_WINDOW). Returns the field and each target's distance."""
        best = field.copy()
        distance = self._distance(best)
        for jump in JUMPS[-1:] if refine else JUMPS:
            for dy, dx in ((jump, 0), (-jump, 0), (0, jump), (0, -jump)):
                ny, nx = self.target_y - dy, self.target_x - dx
                neighbour = self.index[np.clip(ny, 0, self.height - 1) * self.width + np.clip(nx, 0, self.width - 1)]
                neighbour = np.where((ny >= 0) & (ny < self.height) & (nx >= 0) & (nx < self.width), neighbour, -1)
                source = best[np.maximum(neighbour, 0)]
                candidate = self._checked(source // self.width + dy, source % self.width + dx)
                self._try(best, distance, np.where(neighbour >= 0, candidate, -1))
        start = FINE_WINDOW if refine else max(self.height, self.width)
        for window in np.unique(np.geomspace(start, 1, RANDOM_TRIES).astype(int))[::-1]:
            y = best // self.width + rng.integers(-window, window + 1, best.size)
            x = best % self.width + rng.integers(-window, window + 1, best.size)
            self._try(best, distance, self._checked(y, x))
        return best, distance

    def vote(self, field: np.ndarray, distance: np.ndarray) -> np.ndarray:
        """Each hole pixel: the weighted mean of what the patches covering it
        copy there; weights exp(-d / 2 sigma^2) with sigma^2 the 75th
        percentile of the match distances (Wexler et al.). Returns the
        level's picture (unpadded) with its holes so filled."""
        spread = float(np.percentile(distance, 75)) + 1e-3
        # Floored: on flat artwork most matches are exact (spread near 0) and
        # every patch over some hole pixel could underflow to 0 (a black hole
        # pixel); floored weights average them evenly instead.
        weight = np.maximum(np.exp(-(distance - distance.min()) / (2.0 * spread)), MIN_WEIGHT).astype(np.float32)
        total = np.zeros((self.holes.size, 3), np.float32)
        weights = np.zeros(self.holes.size, np.float32)
        for offset in self.offsets:
            centre = self.index[self.holes - offset]  # the patch centred there covers this hole pixel
            has = centre >= 0
            c = centre[has]
            total[has] += weight[c, None] * self.pixels[field[c] + offset]
            weights[has] += weight[c]
        self.pixels[self.holes] = total / np.maximum(weights, 1e-12)[:, None]
        r = RADIUS
        return self.image[r:-r, r:-r].copy()


class _Offsets:
    """A level's matches as offsets (source - target, level px) over the
    unpadded picture, 0 where a pixel was no target, for the next level to
    double."""

    def __init__(self, level: Level, field: np.ndarray):
        self.y = np.zeros(level.shape, np.int64)
        self.x = np.zeros(level.shape, np.int64)
        ty, tx = level.target_y - RADIUS, level.target_x - RADIUS
        self.y[ty, tx] = field // level.width - level.target_y
        self.x[ty, tx] = field % level.width - level.target_x
