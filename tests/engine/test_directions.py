"""engine/directions.py: GANSpace-style latent directions from a real
generator's renders (onnxruntime), found once and cached."""

from __future__ import annotations

import numpy as np

from studio.engine.directions import cache_path, find_directions, latent_directions
from studio.engine.generator import Generator
from studio.engine.registry import Registry
from studio.engine.runtime import Runtime


def test_the_first_direction_is_the_latent_way_the_pictures_vary_most():
    rng = np.random.default_rng(0)
    latents = rng.standard_normal((500, 10)).astype(np.float32)
    strong, weak = np.eye(10)[3], np.eye(10)[7]
    # Pictures that change a lot along latent axis 3, a little along axis 7, and not otherwise.
    features = np.outer(latents @ strong, rng.standard_normal(50)) * 5 + np.outer(latents @ weak,
                                                                                  rng.standard_normal(50))
    directions = find_directions(latents, features, 2)
    assert np.allclose(np.linalg.norm(directions, axis=1), 1.0, atol=1e-5)
    assert abs(directions[0] @ strong) > 0.95 and abs(directions[1] @ weak) > 0.95
    # Signed so that moving along a direction raises its principal component.
    centred = features - features.mean(axis=0)
    first = np.linalg.svd(centred, full_matrices=False)[2][0]
    assert np.corrcoef((latents @ directions[0]), centred @ first)[0, 1] > 0.9


def test_directions_are_deterministic_and_cached_per_model(tiny_generator_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    generator = Generator(Registry([tiny_generator_dir]).get("tiny"), Runtime("cpu", threads=1))
    first = latent_directions(generator)
    assert first.shape == (6, 8) and first.dtype == np.float32
    path = cache_path(generator)
    assert path.is_file()
    path.unlink()
    assert np.array_equal(latent_directions(generator), first)  # found again, the same
    # Read from the cache, not found again: a planted file is what comes back.
    planted = np.eye(6, 8, dtype=np.float32)
    np.savez(path, directions=planted)
    assert np.array_equal(latent_directions(generator), planted)
    path.write_bytes(b"damaged")
    assert np.array_equal(latent_directions(generator), first)
    assert latent_directions(generator, cancelled=lambda: True) is not None  # cached: nothing to cancel
    path.unlink()
    assert latent_directions(generator, cancelled=lambda: True) is None
