"""Data-parallel training across processes started by torchrun
(`python -m torch.distributed.run --nproc_per_node N -m studio.train ...`).

Every rank holds the whole model, trains on its own shard of each batch and
averages gradients with the others before the optimiser step, so all ranks
stay identical. Gradients are averaged by hand (average_gradients) rather
than by DistributedDataParallel: a GAN step toggles requires_grad on D,
runs D on two batches per step and takes R1's double backward, all of which
DDP's hooks handle badly. Without torchrun's environment everything here
degrades to a single process (rank 0 of 1) and needs no process group.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Sequence, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


@dataclass(frozen=True)
class Rank:
    """Where this process stands: rank in [0, world_size), local_rank on
    this machine, and the torch device it should use."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device


def setup(device: str | None = None, timeout_s: float = 300.0) -> Rank:
    """Read torchrun's RANK / WORLD_SIZE / LOCAL_RANK and join the process
    group: NCCL when the device is CUDA, gloo on the CPU. device: "cpu",
    "cuda" or None (CUDA if available); with CUDA each rank takes
    cuda:LOCAL_RANK. Without WORLD_SIZE > 1 no group is made."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    kind = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if kind.startswith("cuda"):
        torch_device = torch.device("cuda", local_rank) if world_size > 1 else torch.device(kind)
        if torch_device.index is None:
            torch_device = torch.device("cuda", 0)
        torch.cuda.set_device(torch_device)
    else:
        torch_device = torch.device(kind)
    if world_size > 1 and not dist.is_initialized():
        backend = "nccl" if torch_device.type == "cuda" else "gloo"
        kwargs = {"device_id": torch_device} if backend == "nccl" else {}
        dist.init_process_group(backend, rank=rank, world_size=world_size,
                                timeout=timedelta(seconds=timeout_s), **kwargs)
    return Rank(rank, world_size, local_rank, torch_device)


def world_size() -> int:
    """Number of processes in the group (1 without one)."""
    return dist.get_world_size() if dist.is_initialized() else 1


def rank() -> int:
    """This process's rank (0 without a group)."""
    return dist.get_rank() if dist.is_initialized() else 0


def is_main() -> bool:
    """True on the one rank that logs, writes checkpoints and samples."""
    return rank() == 0


def shard(indices: Sequence[T] | torch.Tensor) -> Sequence[T] | torch.Tensor:
    """This rank's part of `indices`: every world_size-th item starting at
    rank, so the parts are disjoint, cover everything, and differ in length
    by at most one. Same type as given (list, range, tensor...)."""
    return indices[rank()::world_size()]


@torch.no_grad()
def average_gradients(*modules: torch.nn.Module) -> None:
    """All-reduce the .grad of every parameter that has one and divide by the
    world size (one flat buffer per module, so one message each). Call after
    backward(), before optimiser.step(). No-op in a single process."""
    n = world_size()
    if n == 1:
        return
    for module in modules:
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        if not grads:
            continue
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= n
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()


@torch.no_grad()
def broadcast_parameters(*modules: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every rank (call once after
    building or loading the models, so all ranks start identical)."""
    if world_size() == 1:
        return
    for module in modules:
        for t in [*module.parameters(), *module.buffers()]:
            dist.broadcast(t.data, src=0)


def barrier() -> None:
    """Wait for every rank (e.g. before reading a file rank 0 wrote)."""
    if world_size() > 1:
        dist.barrier()


def cleanup() -> None:
    """Leave the process group, if one was joined."""
    if dist.is_initialized():
        dist.destroy_process_group()
