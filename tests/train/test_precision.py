"""Mixed precision: the scaler skips float16 overflow steps without touching
the weights, and real training (R1 steps included) runs in fp16 and
bf16 (on CPU here; on CUDA `auto` picks one of them)."""

from __future__ import annotations

import pytest
import torch

from studio.train import checkpoint as ckpt_io
from studio.train.precision import Precision, resolve_precision
from test_train_features import _events, _emoji_folder, _run

CPU = torch.device("cpu")


def test_auto_is_float32_on_cpu():
    assert resolve_precision("auto", CPU) == "fp32"
    assert resolve_precision("bf16", CPU) == "bf16"
    amp = Precision("auto", CPU)
    assert amp.loss_scale() == 1.0
    with amp.autocast():
        assert torch.nn.Linear(3, 3)(torch.ones(1, 3)).dtype == torch.float32


def test_fp16_overflow_is_skipped_and_the_scale_comes_down():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    amp = Precision("fp16", CPU, init_scale=2.0**60)  # far past float16's range: the first steps overflow
    x = torch.randn(16, 8)
    stepped = []
    for _ in range(80):
        before = [p.detach().clone() for p in model.parameters()]
        with amp.autocast():
            loss = model(x).float().pow(2).mean()
        opt.zero_grad()
        amp.backward(loss)
        amp.unscale(opt)
        took = amp.step(opt)
        unchanged = all(torch.equal(a, p) for a, p in zip(before, model.parameters()))
        assert took != unchanged  # a skipped step leaves the weights exactly as they were
        stepped.append(took)
        assert all(torch.isfinite(p).all() for p in model.parameters())
    assert not stepped[0] and any(stepped)
    assert amp.loss_scale() < 2.0**60


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_training_in_half_precision(tmp_path, precision):
    data = _emoji_folder(tmp_path / "emoji", 8)
    proc = _run(["--data", data, "--out", tmp_path / "run", "--resolution", 32, "--batch", 4, "--width", 0.25,
                 "--steps", 4, "--r1-every", 2, "--checkpoint-every", 4, "--metrics-every", 0, "--log-every", 1,
                 "--threads", 1, "--precision", precision], tmp_path)
    assert proc.returncode == 0, proc.stderr
    events = _events(proc.stdout)
    start = next(e for e in events if e["event"] == "start")
    assert start["precision"] == precision and start["arch"] == "fastgan2"
    progress = [e for e in events if e["event"] == "progress"]
    assert progress and all(e["loss_d"] == e["loss_d"] for e in progress)  # not NaN
    assert not [e for e in events if e["event"] == "warning" and e["kind"] == "nan"]
    ckpt = ckpt_io.load(tmp_path / "run")
    assert ckpt.info["step"] == 4
    assert all(t.dtype == torch.float32 for t in ckpt.module_state("G").values() if t.is_floating_point())
