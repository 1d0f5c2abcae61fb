#!/usr/bin/python3
"""PyTorch peer of bench/dist.ts: the same all-reduce and the same MLP step, with torch.distributed (Gloo)
and torch.nn.parallel.DistributedDataParallel, timed the same way. Started twice by bench/dist.ts with
RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT set; rank 0 prints one JSON object.
Usage: dist_peer.py --numel N [--iters 5] [--ar-iters 20] [--batch 32]"""
import argparse, json, statistics, time
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP

ap = argparse.ArgumentParser()
ap.add_argument("--numel", type=int, required=True)
ap.add_argument("--iters", type=int, default=5)
ap.add_argument("--ar-iters", type=int, default=20)
ap.add_argument("--batch", type=int, default=32)
a = ap.parse_args()
torch.set_num_threads(1)
dist.init_process_group("gloo", init_method="env://", timeout=timedelta(seconds=300))
rank = dist.get_rank()


def median(xs):
    return sorted(xs)[len(xs) // 2]


# 1. all-reduce of the gradient size
flat = torch.zeros(a.numel)
ar = []
for i in range(a.ar_iters + 3):
    dist.barrier()
    t = time.perf_counter()
    dist.all_reduce(flat)
    if i >= 3:
        ar.append((time.perf_counter() - t) * 1000)

# 2. per-step overhead (same MLP as bench/dist.ts: mlpShape)
width = 1024
layers = max(1, round(a.numel / (width * width + width)))
torch.manual_seed(0)
model = nn.Sequential(*[m for _ in range(layers) for m in (nn.Linear(width, width), nn.Tanh())])
ddp = DDP(model, bucket_cap_mb=25)
x = torch.randn(a.batch, width)


def step(sync):
    dist.barrier()
    t = time.perf_counter()
    for p in model.parameters():
        p.grad = None
    if sync:
        ddp(x).square().mean().backward()
    else:
        with ddp.no_sync():
            ddp(x).square().mean().backward()
    return (time.perf_counter() - t) * 1000


synced, unsynced = [], []
for i in range(a.iters + 2):
    s = step(True)
    u = step(False)
    if i >= 2:
        synced.append(s)
        unsynced.append(u)

if rank == 0:
    print(json.dumps({
        "numel": a.numel,
        "allreduceMs": median(ar),
        "mlp": {"width": width, "layers": layers, "numel": layers * (width * width + width), "batch": a.batch},
        "stepSyncMs": median(synced),
        "stepNoSyncMs": median(unsynced),
        "overheadMs": median([s - u for s, u in zip(synced, unsynced)]),
    }))
dist.destroy_process_group()
