"""core/walk.py: a walk's keyframes (seeds and latents of their own), its
direction offset, and the recipes that make its frames again."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.latent import latent_from_seed, slerp
from studio.core.recipe import decode_latent
from studio.core.walk import LatentKey, LatentWalk, keyframe_label


def _key(seed: int = 0, name: str = "me.png") -> LatentKey:
    return LatentKey(np.random.default_rng(seed).standard_normal(8).astype(np.float32), name, "painter", 17.25)


def test_seeds_alone_keep_the_recipe_studio_interpolate_reads():
    walk = LatentWalk([3, 14], position=0.5, truncation=0.8)
    recipe = walk.animation_recipe(12, 24.0)
    assert recipe["seeds"] == [3, 14] and "keyframes" not in recipe and "offset" not in recipe
    again = LatentWalk.from_recipe({**walk.frame_recipe(), "model": {"name": "painter"}})
    assert again.keyframes == [3, 14] and again.position == 0.5 and again.truncation == 0.8


def test_latent_keyframes_and_the_offset_reopen_exactly():
    key = _key()
    walk = LatentWalk([key, 5], position=0.25, mode="lerp", truncation=0.5, offset=np.full(8, 0.1, np.float32))
    recipe = {**walk.frame_recipe(), "model": {"name": "painter"}}
    assert recipe["keyframes"][0]["name"] == "me.png" and recipe["keyframes"][1] == 5
    again = LatentWalk.from_recipe(recipe)
    restored = again.keyframes[0]
    assert isinstance(restored, LatentKey) and restored.model == "painter" and restored.psnr == 17.25
    np.testing.assert_array_equal(restored.latent, key.latent)
    np.testing.assert_array_equal(again.latent(8), walk.latent(8))
    # A picture's latent is not truncated (the picture stays itself); the seed is; the offset moves both.
    expected = (1 - 0.25) * key.latent + 0.25 * latent_from_seed(5, 8) * 0.5 + 0.1
    np.testing.assert_allclose(walk.latent(8)[0], expected, atol=1e-6)


def test_a_studio_project_recipe_is_one_latent_keyframe():
    project = {"action": "project", "latent": _key().recipe()["latent"], "source": "me.png", "psnr": 20.5,
               "model": {"name": "painter"}}
    walk = LatentWalk.from_recipe(project)
    (key,) = walk.keyframes
    assert key.name == "me.png" and key.psnr == 20.5
    np.testing.assert_array_equal(key.latent, decode_latent(project["latent"]))


@pytest.mark.parametrize("recipe", [
    {},
    {"seeds": []},
    {"keyframes": ["x"]},
    {"keyframes": [{"latent": "f32:!!"}]},
    {"keyframes": [{"name": "no latent"}]},
    {"seeds": [1], "offset": "not a latent"},
])
def test_recipes_without_usable_keyframes_say_so(recipe):
    with pytest.raises(ValueError):
        LatentWalk.from_recipe(recipe)


def test_a_latent_of_another_size_or_an_offset_of_another_model_is_refused():
    with pytest.raises(ValueError, match="encoded for another model"):
        LatentWalk([_key()]).latent(16)
    with pytest.raises(ValueError, match="direction offset has 8 numbers"):
        LatentWalk([1], offset=np.zeros(8, np.float32)).latent(16)


def test_frames_go_through_every_keyframe():
    key = _key()
    frames = LatentWalk([key, 9]).frames(8, 3)
    np.testing.assert_allclose(frames[1], slerp(key.latent, latent_from_seed(9, 8), 0.5), atol=1e-6)
    with pytest.raises(ValueError, match="two or more"):
        LatentWalk([key]).frames(8, 3)


def test_labels_fit_captions_and_file_names():
    assert keyframe_label(42) == "42"
    assert keyframe_label(_key(name="My Portrait (final).png")) == "MyPortraitfi"
    assert keyframe_label(_key(name="***.png")) == "picture"
    assert keyframe_label(_key(name="moved 2"), 7) == "moved2"
