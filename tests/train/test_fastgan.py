"""FastGAN-style networks, the hinge loss and the architecture selector."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F

from studio.train.architecture import build_discriminator, build_generator
from studio.train.export import OPSET
from studio.train.generator_export import export_onnx
from studio.train.fastgan import (FastDiscriminator, FastGenerator, SkipExcitation, _quarters, channel_plan,
                                  G_CHANNELS)
from studio.train.losses import (discriminator_loss, discriminator_loss_hinge, generator_loss,
                                 generator_loss_hinge, get_losses, r1_penalty)
from studio.train.nets import Discriminator, Generator


@pytest.mark.parametrize("resolution", [32, 64, 128, 256])
def test_generator_shapes_range_and_excitation(resolution):
    torch.manual_seed(0)
    G = FastGenerator(128, resolution, width=0.25)
    out = G(torch.randn(2, 128) * 5)
    assert out.shape == (2, 3, resolution, resolution)
    assert out.abs().max() <= 1.0 and torch.isfinite(out).all()
    # Skip-layer excitation sits at every resolution from 32 up.
    assert sorted(int(r) for r in G.excite) == [r for r in (32, 64, 128, 256) if r <= resolution]
    # Truncation (a scale of z) must still change the picture.
    z = torch.randn(1, 128)
    assert not torch.allclose(G(z), G(z * 0.5))


def test_generator_is_the_same_function_in_train_and_eval_mode():
    G = FastGenerator(128, 32, width=0.25)
    z = torch.randn(3, 128)
    assert torch.equal(G.train()(z), G.eval()(z))
    assert len(list(G.buffers())) == 0  # nothing for the EMA to carry besides weights


def test_skip_excitation_gates_channels_from_low_resolution_features():
    torch.manual_seed(0)
    sle = SkipExcitation(cin=8, cout=4, low_size=8)
    high = torch.randn(2, 4, 32, 32)
    low = torch.randn(2, 8, 8, 8)
    out = sle(low, high)
    gate = out / high
    # One gate in (0,1) per sample and channel, the same at every pixel...
    assert torch.allclose(gate, gate[..., :1, :1].expand_as(gate), atol=1e-5)
    assert (gate > 0).all() and (gate < 1).all()
    # ... and it is the low-resolution input that sets it.
    assert not torch.allclose(sle(low * 3 + 1, high), out)


def test_quarters_are_the_four_corners():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    q = _quarters(x)
    assert q.shape == (1, 4, 1, 2, 2)
    assert q[0, 0, 0].tolist() == [[0, 1], [4, 5]]
    assert q[0, 1, 0].tolist() == [[2, 3], [6, 7]]
    assert q[0, 2, 0].tolist() == [[8, 9], [12, 13]]
    assert q[0, 3, 0].tolist() == [[10, 11], [14, 15]]


@pytest.mark.parametrize("resolution", [32, 64])
def test_discriminator_logits_and_reconstruction_loss(resolution):
    torch.manual_seed(0)
    D = FastDiscriminator(resolution, width=0.25)
    x = torch.rand(4, 3, resolution, resolution) * 2 - 1
    assert D(x).shape == (4,)
    logits, recon = D(x, reconstruct=True)
    assert logits.shape == (4,) and recon.ndim == 0 and recon.item() > 0
    assert torch.allclose(logits, D(x))
    recon.backward()
    # The loss trains the decoders and the body under them, not the logit head.
    assert D.decode_whole.to_rgb.weight.grad.abs().sum() > 0
    assert D.decode_part.to_rgb.weight.grad.abs().sum() > 0
    assert D.from_rgb[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in D.head.parameters())


def test_reconstruction_is_learnable():
    # 20 Adam steps on one batch of 8 blocky images must bring the L1 error
    # well under the best any constant output can do (the per-pixel median):
    # the decoders really rebuild each image, and each quarter, from D's
    # features. A crop/target mismatch would leave the error above it.
    torch.manual_seed(0)
    D = FastDiscriminator(32, width=0.25)
    x = (torch.rand(8, 3, 4, 4) * 2 - 1).repeat_interleave(8, 2).repeat_interleave(8, 3)
    whole, parts = F.avg_pool2d(x, 2), _quarters(x).flatten(0, 1)
    floor = ((whole - whole.median(0, keepdim=True).values).abs().mean()
             + (parts - parts.median(0, keepdim=True).values).abs().mean()).item()
    opt = torch.optim.Adam(D.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(1)
    for _ in range(20):
        h, feats = D.from_rgb(x), {}
        for block in D.blocks:
            h = block(h)
            feats[h.shape[-1]] = h
        loss = D.reconstruction_loss(x, feats[8], feats[16], generator=gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.85 * floor


def test_r1_penalty_works_through_the_discriminator():
    D = FastDiscriminator(32, width=0.25)
    x = (torch.rand(2, 3, 32, 32) * 2 - 1).requires_grad_(True)
    logits, recon = D(x, reconstruct=True)
    penalty = r1_penalty(logits, x)
    (penalty + recon).backward()  # R1's double backward through the residual blocks and pools
    assert penalty.item() > 0 and D.from_rgb[0].weight.grad.abs().sum() > 0


def test_onnx_export_matches_torch(tmp_path):
    torch.manual_seed(0)
    G = FastGenerator(128, 64, width=0.25).eval().requires_grad_(False)
    path = tmp_path / "g.onnx"
    export_onnx(G, path, OPSET)  # what `studio export` runs: dynamo=False, opset 17
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    z = torch.randn(4, 128, generator=torch.Generator().manual_seed(7))
    got = session.run(["image"], {"latent": z.numpy()})[0]
    got1 = session.run(["image"], {"latent": z[:1].numpy()})[0]  # the batch axis is dynamic
    expected = G(z).numpy()
    assert got.shape == (4, 3, 64, 64)
    assert np.abs(got - expected).max() <= 1e-3
    assert np.abs(got1 - expected[:1]).max() <= 1e-3
    assert not ops & {"BatchNormalization", "RandomNormal", "RandomNormalLike", "RandomUniformLike"}


def test_channel_plan_and_bad_resolutions():
    assert channel_plan(G_CHANNELS, 64, 0.5) == {4: 128, 8: 64, 16: 32, 32: 16, 64: 8}
    with pytest.raises(ValueError, match="resolution must be one of"):
        FastGenerator(128, 48)
    with pytest.raises(ValueError, match="recon_size"):
        FastDiscriminator(64, recon_size=64)


def test_architecture_selector_builds_both_kinds():
    config = {"latent_size": 128, "resolution": 32, "width": 0.25}
    assert isinstance(build_generator(config), Generator)  # no "arch": the shipped models' networks
    assert isinstance(build_discriminator(config), Discriminator)
    fast = {**config, "arch": "fastgan"}
    assert isinstance(build_generator(fast), FastGenerator)
    assert isinstance(build_discriminator(fast), FastDiscriminator)
    with pytest.raises(ValueError, match="unknown architecture 'stylegan'"):
        build_generator({**config, "arch": "stylegan"})


def test_hinge_losses_and_selector():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    # relu(1-2)+relu(1-0.5) = 0.5 -> mean 0.25; relu(1-2)+relu(1+0) = 1 -> mean 0.5
    assert discriminator_loss_hinge(real, fake).item() == pytest.approx(0.75)
    assert discriminator_loss_hinge(torch.tensor([3.0]), torch.tensor([-3.0])).item() == 0.0  # margin met: no push
    assert generator_loss_hinge(fake).item() == pytest.approx(1.0)
    assert get_losses("hinge") == (discriminator_loss_hinge, generator_loss_hinge)
    assert get_losses("nonsaturating") == get_losses("softplus") == (discriminator_loss, generator_loss)
    with pytest.raises(ValueError, match="unknown loss 'wgan'; choose one of: nonsaturating, hinge"):
        get_losses("wgan")
