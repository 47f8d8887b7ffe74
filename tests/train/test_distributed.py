"""Data-parallel building blocks, run for real: two gloo ranks under torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

from studio.train import distributed

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent('''
    import json, sys
    from pathlib import Path
    import torch
    import torch.distributed as dist
    from studio.train import distributed

    out = Path(sys.argv[1])
    me = distributed.setup(device="cpu")
    assert dist.get_backend() == "gloo" and me.world_size == 2

    def model(seed):
        torch.manual_seed(seed)
        return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))

    torch.manual_seed(0)
    data_x, data_y = torch.randn(8, 4), torch.randn(8, 1)  # the same "dataset" on both ranks
    net = model(100 + me.rank)  # deliberately different starting weights...
    distributed.broadcast_parameters(net)  # ... until rank 0's are copied over
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    mine = distributed.shard(list(range(8)))
    parts = [None, None]
    dist.all_gather_object(parts, mine)

    local_grads_differ = False
    for _ in range(3):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(data_x[mine]), data_y[mine])
        loss.backward()
        g = net[0].weight.grad.clone()
        other = [torch.zeros_like(g), torch.zeros_like(g)]
        dist.all_gather(other, g)
        local_grads_differ |= not torch.equal(other[0], other[1])
        distributed.average_gradients(net)
        opt.step()

    flat = torch.cat([p.detach().flatten() for p in net.parameters()])
    both = [torch.zeros_like(flat), torch.zeros_like(flat)]
    dist.all_gather(both, flat)

    if distributed.is_main():
        # Averaging the two half-batch gradients is the full-batch gradient:
        # the same 3 steps in one process must land on the same weights.
        ref = model(100)
        ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1)
        for _ in range(3):
            ref_opt.zero_grad()
            torch.nn.functional.mse_loss(ref(data_x), data_y).backward()
            ref_opt.step()
        ref_flat = torch.cat([p.detach().flatten() for p in ref.parameters()])
        (out / f"result_rank{me.rank}.json").write_text(json.dumps({
            "parts": parts, "local_grads_differ": local_grads_differ,
            "ranks_identical": bool(torch.equal(both[0], both[1])),
            "vs_single_process": float((both[0] - ref_flat).abs().max()),
        }))
    (out / f"rank{me.rank}.done").write_text("")
    distributed.barrier()
    distributed.cleanup()
    from studio.train.__main__ import leave
    leave(0)  # as the trainer leaves a torchrun rank
''')


def test_two_ranks_average_gradients_and_only_rank_zero_writes(tmp_path):
    script = tmp_path / "ddp_check.py"
    script.write_text(SCRIPT)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone",
         str(script), str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "result_rank0.json").read_text())
    assert result["parts"] == [[0, 2, 4, 6], [1, 3, 5, 7]]
    assert result["local_grads_differ"]  # each rank really saw different data...
    assert result["ranks_identical"]  # ... and still ends with the same weights
    assert result["vs_single_process"] < 1e-6
    assert (tmp_path / "rank0.done").exists() and (tmp_path / "rank1.done").exists()
    assert [p.name for p in tmp_path.glob("result_*.json")] == ["result_rank0.json"]  # rank 1 wrote none


def test_without_torchrun_everything_is_one_process(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    me = distributed.setup(device="cpu")
    assert (me.rank, me.world_size, me.local_rank, me.device.type) == (0, 1, 0, "cpu")
    assert distributed.is_main() and distributed.world_size() == 1
    assert distributed.shard([5, 6, 7]) == [5, 6, 7]
    net = torch.nn.Linear(2, 1)
    net(torch.ones(1, 2)).sum().backward()
    before = net.weight.grad.clone()
    distributed.average_gradients(net)  # a no-op: nothing to average with
    assert torch.equal(net.weight.grad, before)
    distributed.cleanup()
