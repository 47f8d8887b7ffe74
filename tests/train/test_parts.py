"""The trainer's parts on their own: preprocessing, augmentation, losses, nets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from studio.train.augment import augment
from studio.train.data import DataError, list_images, load_dataset, prepare_image
from studio.train.losses import discriminator_loss, generator_loss, r1_penalty
from studio.train.nets import Discriminator, Generator


def test_prepare_image_composites_on_white_and_pads_to_square():
    rgba = np.zeros((8, 16, 4), np.uint8)
    rgba[..., 0] = 255  # red, but only the left half is opaque
    rgba[:, :8, 3] = 255
    out = prepare_image(rgba, 16)
    assert out.shape == (3, 16, 16) and out.dtype == np.uint8
    assert (out[:, 0, :] == 255).all() and (out[:, -1, :] == 255).all()  # white padding above and below
    assert tuple(out[:, 8, 2]) == (255, 0, 0)  # opaque red stays red
    assert tuple(out[:, 8, 13]) == (255, 255, 255)  # transparent becomes white


def test_dataset_is_cached_and_refreshed_when_the_folder_changes(tmp_path):
    data, run = tmp_path / "data", tmp_path / "run"
    data.mkdir()
    Image.new("RGB", (10, 10), (0, 0, 255)).save(data / "a.png")
    Image.new("RGBA", (5, 9), (0, 255, 0, 255)).save(data / "b.webp")
    (data / ".hidden.png").write_bytes(b"partial write")  # e.g. an atomic-write temp file
    first = load_dataset(data, 8, run)
    assert first.shape == (2, 3, 8, 8) and first.dtype == torch.uint8
    assert (run / "data_8.safetensors").is_file()
    assert torch.equal(load_dataset(data, 8, run), first)
    Image.new("RGB", (4, 4), (9, 9, 9)).save(data / "c.jpg")
    assert load_dataset(data, 8, run).shape[0] == 3


def test_list_images_rejects_missing_and_empty_folders(tmp_path):
    with pytest.raises(DataError, match="not found"):
        list_images(tmp_path / "missing")
    with pytest.raises(DataError, match="no images"):
        list_images(tmp_path)


def test_generator_shapes_and_range():
    G = Generator(128, 32, width=0.25)
    out = G(torch.randn(3, 128) * 5)
    assert out.shape == (3, 3, 32, 32) and out.abs().max() <= 1.0
    assert Discriminator(32, width=0.25)(out).shape == (3,)


def test_augment_is_differentiable_and_keeps_shape():
    x = (torch.rand(4, 3, 16, 16) * 2 - 1).requires_grad_(True)
    y = augment(x)
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    # translation shifts in white, never leaves holes of another colour
    white = torch.ones(2, 3, 16, 16)
    assert torch.equal(augment(white, translate=0.25, colour=0), white)


def test_losses_prefer_the_right_answers():
    confident = torch.tensor([5.0, 5.0])
    assert discriminator_loss(confident, -confident) < discriminator_loss(-confident, confident)
    assert generator_loss(confident) < generator_loss(-confident)
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    logits = (x * 3).sum(dim=[1, 2, 3])
    assert r1_penalty(logits, x).item() == pytest.approx(9 * 3 * 8 * 8)
