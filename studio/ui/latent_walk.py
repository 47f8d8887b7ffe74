"""The state of a walk through latent space: keyframe seeds and where we are.

Plain Python (no Qt): the Latent panel edits it, render requests and exports
read it, and a recipe written from it makes the same picture again through
`studio generate` / `studio interpolate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from studio.core.latent import INTERPOLATORS, latent_from_seed, path_frames, path_point, truncate

MODES = tuple(INTERPOLATORS)  # ("slerp", "lerp")


@dataclass
class LatentWalk:
    keyframes: list[int] = field(default_factory=list)  # seeds, in path order
    position: float = 0.0  # 0..1 along the whole path
    mode: str = "slerp"
    truncation: float = 1.0  # 0..2, 1 = the prior unchanged
    loop: bool = False

    @property
    def segments(self) -> int:
        """Number of stretches between keyframes (a loop adds the way back)."""
        n = len(self.keyframes)
        return max(n if self.loop and n > 1 else n - 1, 0)

    def keyframe_position(self, index: int) -> float:
        """Where keyframe `index` sits on the 0..1 path."""
        return index / self.segments if self.segments else 0.0

    def keys(self, latent_size: int) -> list[np.ndarray]:
        return [truncate(latent_from_seed(seed, latent_size), self.truncation) for seed in self.keyframes]

    def latent(self, latent_size: int) -> np.ndarray:
        """The latent at `position`: float32 [1, latent_size]."""
        if not self.keyframes:
            raise ValueError("add a keyframe first (click a sample)")
        return path_point(self.keys(latent_size), self.position, self.mode, self.loop)[None]

    def frames(self, latent_size: int, count: int) -> np.ndarray:
        """`count` latents evenly along the whole path: float32 [count, latent_size]."""
        if len(self.keyframes) < 2:
            raise ValueError("an animation needs two or more keyframes")
        return path_frames(self.keys(latent_size), count, self.mode, self.loop)

    def frame_recipe(self) -> dict:
        """Recipe parameters of the frame at `position`."""
        return {"action": "walk", "seeds": list(self.keyframes), "position": round(self.position, 6),
                "mode": self.mode, "loop": self.loop, "truncation": round(self.truncation, 4)}

    @classmethod
    def from_recipe(cls, recipe: dict) -> LatentWalk:
        """The walk a recipe describes (a frame, an animation, or `studio generate`
        output, whose seeds become the keyframes). ValueError when it has none."""
        seeds = recipe.get("seeds")
        if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
            raise ValueError("the recipe names no seeds")
        mode = recipe.get("mode", "slerp")
        return cls(keyframes=list(seeds), position=min(max(float(recipe.get("position", 0.0)), 0.0), 1.0),
                   mode=mode if mode in MODES else "slerp", truncation=float(recipe.get("truncation", 1.0)),
                   loop=bool(recipe.get("loop", False)))

    def animation_recipe(self, frames: int, fps: float) -> dict:
        """Recipe parameters of an animation: the same keys `studio interpolate` takes."""
        return {"action": "interpolate", "seeds": list(self.keyframes), "frames": frames, "mode": self.mode,
                "loop": self.loop, "truncation": round(self.truncation, 4), "fps": fps}


def seed_latents(seeds: list[int], latent_size: int, truncation: float) -> np.ndarray:
    """Latents of `seeds` for thumbnails: float32 [len(seeds), latent_size]."""
    return np.stack([truncate(latent_from_seed(s, latent_size), truncation) for s in seeds])
