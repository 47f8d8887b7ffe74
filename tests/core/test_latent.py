"""Latent paths: seeds, truncation, slerp and keyframe paths."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.latent import latent_from_seed, lerp, path_frames, path_point, slerp, truncate


def test_seed_means_the_same_latent_everywhere():
    a, b = latent_from_seed(42, 128), latent_from_seed(42, 128)
    assert a.dtype == np.float32 and a.shape == (128,)
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a, latent_from_seed(43, 128))
    # Standard normal: a 128-d draw has norm near sqrt(128) = 11.3.
    assert 9.0 < np.linalg.norm(a) < 13.5


def test_truncate_scales_toward_the_mean():
    z = latent_from_seed(1, 16)
    assert np.array_equal(truncate(z, 1.0), z)
    assert np.allclose(truncate(z, 0.5), z / 2) and truncate(z, 0.5).dtype == np.float32
    assert not truncate(z, 0.0).any()


def test_slerp_hits_both_ends():
    a, b = latent_from_seed(1, 128), latent_from_seed(2, 128)
    assert np.allclose(slerp(a, b, 0.0), a, atol=1e-5)
    assert np.allclose(slerp(a, b, 1.0), b, atol=1e-5)
    assert slerp(a, b, 0.5).dtype == np.float32


def test_slerp_keeps_the_norm_where_lerp_shrinks_it():
    a, b = latent_from_seed(3, 128), latent_from_seed(4, 128)
    b = b * (np.linalg.norm(a) / np.linalg.norm(b))  # same norm at both ends
    for t in (0.25, 0.5, 0.75):
        assert np.linalg.norm(slerp(a, b, t)) == pytest.approx(np.linalg.norm(a), rel=1e-4)
    assert np.linalg.norm(lerp(a, b, 0.5)) < 0.8 * np.linalg.norm(a)


def test_slerp_of_parallel_or_zero_vectors_falls_back_to_lerp():
    a = latent_from_seed(5, 8)
    assert np.allclose(slerp(a, 2 * a, 0.5), 1.5 * a, atol=1e-5)
    zero = np.zeros(8, np.float32)
    assert np.allclose(slerp(zero, a, 0.25), 0.25 * a)


def test_path_point_through_keyframes():
    keys = [latent_from_seed(i, 32) for i in range(3)]
    assert np.allclose(path_point(keys, 0.0), keys[0], atol=1e-5)
    assert np.allclose(path_point(keys, 0.5), keys[1], atol=1e-5)  # 2 segments: halfway is key 1
    assert np.allclose(path_point(keys, 1.0), keys[2], atol=1e-5)
    assert np.allclose(path_point(keys, 1.7), keys[2], atol=1e-5)  # clamped
    assert np.allclose(path_point(keys, 0.25, mode="lerp"), (keys[0] + keys[1]) / 2, atol=1e-5)
    assert np.array_equal(path_point(keys[:1], 0.3), keys[0])
    with pytest.raises(ValueError):
        path_point([], 0.5)


def test_loop_path_wraps_back_to_the_start():
    keys = [latent_from_seed(i, 32) for i in range(3)]
    assert np.allclose(path_point(keys, 1.0, loop=True), keys[0], atol=1e-5)
    assert np.allclose(path_point(keys, 2 / 3, loop=True), keys[2], atol=1e-5)  # 3 segments with the return
    near_end = path_point(keys, 0.99, loop=True)
    assert np.linalg.norm(near_end - keys[0]) < np.linalg.norm(near_end - keys[1])


def test_path_frames_shapes_and_ends():
    keys = [latent_from_seed(i, 64) for i in range(4)]
    frames = path_frames(keys, 10)
    assert frames.shape == (10, 64) and frames.dtype == np.float32
    assert np.allclose(frames[0], keys[0], atol=1e-5) and np.allclose(frames[-1], keys[-1], atol=1e-5)


def test_looping_path_frames_leave_out_the_repeated_start():
    keys = [latent_from_seed(i, 64) for i in range(2)]
    frames = path_frames(keys, 4, loop=True)  # positions 0, 1/4, 1/2, 3/4 of a 2-segment loop
    assert frames.shape == (4, 64)
    assert np.allclose(frames[0], keys[0], atol=1e-5) and np.allclose(frames[2], keys[1], atol=1e-5)
    assert not np.allclose(frames[-1], keys[0], atol=1e-3)  # the start is not repeated at the end
    assert path_frames(keys, 1).shape == (1, 64)
    with pytest.raises(ValueError):
        path_frames(keys, 0)
