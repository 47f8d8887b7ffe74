"""Fine-tuning from an exported model, and FreezeD."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from studio.train import checkpoint as ckpt_io
from studio.train.export import export_run
from studio.train.fastgan import FastDiscriminator
from studio.train.finetune import (BaseModelError, discriminator_blocks, freeze_d_layers, load_base,
                                   set_trainable)
from studio.train.nets import Discriminator, Generator

REPO = Path(__file__).resolve().parents[2]
EMOJI64 = REPO / "models" / "emoji64"


def test_shipped_emoji64_loads_strictly_into_the_networks_its_config_names():
    config, states = load_base(EMOJI64, resolution=64)
    g_state, d_state = states["G"], states["D"]
    assert (config["resolution"], config["latent_size"], config["width"]) == (64, 128, 0.5)
    G = Generator(config["latent_size"], config["resolution"], config["width"])
    D = Discriminator(config["resolution"], config["width"])
    G.load_state_dict(g_state, strict=True)
    D.load_state_dict(d_state, strict=True)
    with torch.no_grad():
        image = G.eval()(torch.randn(2, 128))
    assert image.shape == (2, 3, 64, 64) and torch.isfinite(D(image)).all()


def test_a_resolution_other_than_the_base_is_refused_in_one_line():
    with pytest.raises(BaseModelError) as err:
        load_base(EMOJI64, resolution=128)
    assert str(err.value) == "base model emoji64 is 64 px; train at --resolution 64 or choose another base"


def test_a_model_without_its_checkpoint_is_refused_in_one_line(tmp_path):
    folder = tmp_path / "bare"
    folder.mkdir()
    shutil.copy(EMOJI64 / "manifest.json", folder / "manifest.json")
    with pytest.raises(BaseModelError) as err:
        load_base(folder)
    message = str(err.value)
    assert message.startswith("base model emoji64 has no checkpoint.safetensors") and "\n" not in message
    with pytest.raises(BaseModelError, match="not found"):
        load_base(tmp_path / "missing")
    (folder / "checkpoint.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(BaseModelError) as err:
        load_base(folder)
    message = str(err.value)
    assert message.startswith("base model emoji64: cannot read checkpoint.safetensors: ") and "\n" not in message


def test_a_tiny_model_exported_by_export_py_round_trips(tmp_path):
    torch.manual_seed(0)
    config = {"latent_size": 128, "resolution": 16, "width": 0.25, "seed": 0}
    G = Generator(128, 16, 0.25)
    G_ema = Generator(128, 16, 0.25)
    D = Discriminator(16, 0.25)
    opt = torch.optim.Adam(G.parameters())
    run = tmp_path / "run"
    run.mkdir()
    ckpt_io.save(run, ckpt_io.pack({"G": G, "G_ema": G_ema, "D": D}, {"opt_G": opt},
                                   {"step": 7, "images_seen": 56, "config": config}))
    folder = Path(export_run(run, "tiny", tmp_path / "models")["folder"])

    loaded_config, states = load_base(folder, resolution=16)
    g_state, d_state = states["G"], states["D"]
    assert loaded_config["width"] == 0.25 and loaded_config["resolution"] == 16
    G2, D2 = Generator(128, 16, 0.25), Discriminator(16, 0.25)
    G2.load_state_dict(g_state, strict=True)
    D2.load_state_dict(d_state, strict=True)
    # The base's EMA generator (not the raw G) is the starting point.
    assert all(torch.equal(G2.state_dict()[k], G_ema.state_dict()[k]) for k in g_state)
    assert all(torch.equal(D2.state_dict()[k], D.state_dict()[k]) for k in d_state)
    with pytest.raises(BaseModelError, match="base model tiny is 16 px; train at --resolution 16"):
        load_base(folder, resolution=32)
    # The manifest names the checkpoint file, and load_base follows it.
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "checkpoint.safetensors").rename(folder / "weights.safetensors")
    manifest["files"]["checkpoint"] = "weights.safetensors"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert load_base(folder)[0]["resolution"] == 16


def test_freeze_d_blocks_for_both_discriminators():
    D = Discriminator(64, 0.5)
    blocks = discriminator_blocks(D)
    assert len(blocks) == 6  # from_rgb, 64->32, 32->16, 16->8, 8->4, head
    assert sum(sum(p.numel() for p in b.parameters()) for b in blocks) == sum(p.numel() for p in D.parameters())
    frozen = freeze_d_layers(D, 3)
    assert frozen == sum(p.numel() for b in blocks[:3] for p in b.parameters()) > 0
    assert all(not p.requires_grad for b in blocks[:3] for p in b.parameters())
    assert all(p.requires_grad for b in blocks[3:] for p in b.parameters())

    fast = FastDiscriminator(64, 0.25)
    assert len(discriminator_blocks(fast)) == 6
    assert freeze_d_layers(fast, 2) == sum(p.numel() for b in discriminator_blocks(fast)[:2] for p in b.parameters())
    assert all(p.requires_grad for p in fast.decode_whole.parameters())  # the decoders keep learning

    with pytest.raises(ValueError, match="can freeze 0 to 5 discriminator blocks, not 6"):
        freeze_d_layers(D, 6)


def test_frozen_layers_stay_fixed_through_a_training_step():
    torch.manual_seed(0)
    D = Discriminator(16, 0.25)
    freeze_d_layers(D, 2)
    before = {k: v.clone() for k, v in D.state_dict().items()}
    opt = torch.optim.Adam(D.parameters(), lr=1e-2)
    set_trainable(D, False)  # the G step...
    assert not any(p.requires_grad for p in D.parameters())
    set_trainable(D, True)  # ... and back for the D step: the freeze survives
    D(torch.rand(4, 3, 16, 16)).sum().backward()
    opt.step()
    frozen = D.frozen_parameters
    assert frozen and all(torch.equal(D.state_dict()[k], before[k]) for k in frozen)
    assert any(not torch.equal(D.state_dict()[k], before[k]) for k in before if k not in frozen)
