"""The state of a walk through latent space: keyframes and where we are.

A keyframe is a seed (an int) or a latent of its own (LatentKey): a picture
the artist brought in (the latent the model's encoder found for it) or a
frame the direction sliders moved and the artist kept. The Latent panel
edits it, render requests and exports read it, `studio interpolate` walks
one, and a recipe written from it makes the same picture again through
`studio generate` / `studio interpolate` (seeds) or the app (pictures, whose
latents the recipe stores exactly).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

import numpy as np

from studio.core.latent import INTERPOLATORS, latent_from_seed, path_frames, path_point, truncate
from studio.core.recipe import decode_latent, encode_latent

MODES = tuple(INTERPOLATORS)  # ("slerp", "lerp")


@dataclass(eq=False)  # compared and hashed by identity: two imports of one file are two keyframes
class LatentKey:
    """A keyframe that is a latent of its own: a picture's (found by the
    model's encoder) or a kept frame's."""

    latent: np.ndarray  # float32 [latent_size]
    name: str  # where it came from, for people ("me.png", "layer Sky", "clipboard", "moved 3")
    model: str  # the generator it belongs to: in another model's space it is another picture
    psnr: float | None = None  # a picture's: how close the model's drawing of the latent is to it, dB
    original: np.ndarray | None = None  # a picture's, uint8 RxRx3 as encoded (not kept in recipes)

    def recipe(self) -> dict:
        return {"latent": encode_latent(self.latent), "name": self.name,
                **({"psnr": round(self.psnr, 2)} if self.psnr is not None else {})}

    @classmethod
    def from_projection(cls, result, name: str, model: str) -> LatentKey:
        """From an engine.projection.Projection of the picture called `name`."""
        return cls(result.latent, name, model, float(result.psnr), result.target)

    @classmethod
    def from_recipe(cls, item: dict, model: str) -> LatentKey:
        """ValueError when `item` holds no latent."""
        psnr = item.get("psnr")
        return cls(decode_latent(str(item.get("latent", ""))), str(item.get("name", "picture")), model,
                   float(psnr) if isinstance(psnr, (int, float)) else None)


Keyframe = Union[int, LatentKey]


def keyframe_label(key: Keyframe, width: int = 12) -> str:
    """A short name fit for a caption or a file name: the seed, or the
    picture's name without its suffix (letters, digits, - and _), cut to `width`."""
    if not isinstance(key, LatentKey):
        return str(key)
    stem = re.sub(r"[^A-Za-z0-9_-]+", "", key.name.rsplit(".", 1)[0]) or "picture"
    return stem[:width]


def keyframe_latent(key: Keyframe, latent_size: int, truncation: float) -> np.ndarray:
    """float32 [latent_size]. Truncation pulls seeds toward the typical; a
    picture's latent stays as found, so the picture stays itself."""
    if isinstance(key, LatentKey):
        if key.latent.shape != (latent_size,):
            raise ValueError(f"the picture '{key.name}' was encoded for another model (latent size "
                             f"{key.latent.shape[0]}, this one takes {latent_size})")
        return key.latent.astype(np.float32)
    return truncate(latent_from_seed(key, latent_size), truncation)


@dataclass
class LatentWalk:
    keyframes: list[Keyframe] = field(default_factory=list)  # in path order
    position: float = 0.0  # 0..1 along the whole path
    mode: str = "slerp"
    truncation: float = 1.0  # 0..2, 1 = the prior unchanged
    loop: bool = False
    # Added to every latent of the walk: the Latent panel's direction sliders
    # (engine/directions.py) move the whole walk, frame and animation alike.
    offset: np.ndarray | None = None  # float32 [latent_size]

    @property
    def segments(self) -> int:
        """Number of stretches between keyframes (a loop adds the way back)."""
        n = len(self.keyframes)
        return max(n if self.loop and n > 1 else n - 1, 0)

    def keyframe_position(self, index: int) -> float:
        """Where keyframe `index` sits on the 0..1 path."""
        return index / self.segments if self.segments else 0.0

    def keys(self, latent_size: int) -> list[np.ndarray]:
        return [keyframe_latent(key, latent_size, self.truncation) for key in self.keyframes]

    @property
    def has_latents(self) -> bool:
        return any(isinstance(key, LatentKey) for key in self.keyframes)

    def _keyframes_recipe(self) -> dict:
        """Seeds alone as "seeds" (what `studio generate/interpolate` take);
        with latent keyframes, "keyframes": seeds and {latent, name} in path order."""
        if not self.has_latents:
            return {"seeds": list(self.keyframes)}
        return {"keyframes": [key.recipe() if isinstance(key, LatentKey) else key for key in self.keyframes]}

    def latent(self, latent_size: int) -> np.ndarray:
        """The latent at `position`: float32 [1, latent_size]."""
        if not self.keyframes:
            raise ValueError("add a keyframe first (click a sample)")
        return self._offset(path_point(self.keys(latent_size), self.position, self.mode, self.loop)[None])

    def frames(self, latent_size: int, count: int) -> np.ndarray:
        """`count` latents evenly along the whole path: float32 [count, latent_size]."""
        if len(self.keyframes) < 2:
            raise ValueError("an animation needs two or more keyframes")
        return self._offset(path_frames(self.keys(latent_size), count, self.mode, self.loop))

    def _offset(self, latents: np.ndarray) -> np.ndarray:
        if self.offset is None:
            return latents
        if self.offset.shape != latents.shape[1:]:
            raise ValueError(f"the walk's direction offset has {self.offset.shape[0]} numbers; this model's latent "
                             f"has {latents.shape[1]}")
        return (latents + self.offset).astype(np.float32)

    def _shared_recipe(self) -> dict:
        """What a frame's and an animation's recipes both hold."""
        return {**self._keyframes_recipe(), "mode": self.mode, "loop": self.loop,
                "truncation": round(self.truncation, 4),
                **({"offset": encode_latent(self.offset)} if self.offset is not None else {})}

    def frame_recipe(self) -> dict:
        """Recipe parameters of the frame at `position`."""
        return {"action": "walk", **self._shared_recipe(), "position": round(self.position, 6)}

    @classmethod
    def from_recipe(cls, recipe: dict) -> LatentWalk:
        """The walk a recipe describes (a frame, an animation, `studio
        generate` output, whose seeds become the keyframes, or `studio
        project` output, whose latent becomes one). ValueError when it has none."""
        keyframes = _recipe_keyframes(recipe)
        mode = recipe.get("mode", "slerp")
        offset = decode_latent(str(recipe["offset"])) if "offset" in recipe else None
        return cls(keyframes=keyframes, position=min(max(float(recipe.get("position", 0.0)), 0.0), 1.0),
                   mode=mode if mode in MODES else "slerp", truncation=float(recipe.get("truncation", 1.0)),
                   loop=bool(recipe.get("loop", False)), offset=offset)

    def animation_recipe(self, frames: int, fps: float) -> dict:
        """Recipe parameters of an animation: the same keys `studio interpolate` takes."""
        return {"action": "interpolate", **self._shared_recipe(), "frames": frames, "fps": fps}


def keyframe_latents(keys: list[Keyframe], latent_size: int, truncation: float) -> np.ndarray:
    """Latents of seeds and pictures for thumbnails: float32 [len(keys), latent_size]."""
    return np.stack([keyframe_latent(key, latent_size, truncation) for key in keys])


def _recipe_keyframes(recipe: dict) -> list[Keyframe]:
    named = recipe.get("model")
    model = str(named.get("name", "")) if isinstance(named, dict) else ""
    items = recipe.get("keyframes")
    if isinstance(items, list) and items:
        keys: list[Keyframe] = []
        for item in items:
            if isinstance(item, int) and not isinstance(item, bool):
                keys.append(item)
            elif isinstance(item, dict):
                keys.append(LatentKey.from_recipe(item, model))
            else:
                raise ValueError("the recipe's keyframes are neither seeds nor latents")
        return keys
    seeds = recipe.get("seeds")
    if isinstance(seeds, list) and seeds and all(isinstance(s, int) for s in seeds):
        return list(seeds)
    if recipe.get("action") == "project" and "latent" in recipe:
        return [LatentKey.from_recipe({"latent": recipe["latent"], "name": recipe.get("source", "picture"),
                                        "psnr": recipe.get("psnr")}, model)]
    raise ValueError("the recipe names no seeds")
