#!/usr/bin/python3
"""PyTorch peer of `flm bench engine`: the same cases with the same shapes, timed the same way.
Prints one JSON object {case: figure}. Usage: engine_peer.py --threads N [--quick]"""
import argparse, json, math, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, required=True)
ap.add_argument("--quick", action="store_true")
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
out = {}

def best(fn, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return ts

# dispatch: many small adds
x = torch.ones(16)
n = 20000 if a.quick else 200000
def adds():
    y = x
    for _ in range(n):
        y = torch.add(x, y)
adds()
out["dispatch_add_us"] = min(best(adds, 3)) / n * 1e6

for (m, k, nn_) , name in (((512, 768, 768), "matmul_512x768x768_gflops"), ((2048, 2048, 2048), "matmul_2048_gflops")):
    A = torch.randn(m, k); B = torch.randn(k, nn_)
    reps = 3 if a.quick else (50 if m == 512 else 5)
    def mm():
        torch.matmul(A, B)
    mm()
    out[name] = 2 * m * k * nn_ / statistics.median(best(mm, reps)) / 1e9

class Block(nn.Module):
    def __init__(s, h, heads):
        super().__init__()
        s.h, s.heads = h, heads
        s.qkv = nn.Linear(h, 3 * h); s.o = nn.Linear(h, h)
        s.ln1 = nn.LayerNorm(h); s.ln2 = nn.LayerNorm(h)
        s.fc1 = nn.Linear(h, 4 * h); s.fc2 = nn.Linear(4 * h, h)
    def forward(s, x):
        B, L, H = x.shape
        d = H // s.heads
        q, k, v = s.qkv(x).split(H, dim=-1)
        q = q.view(B, L, s.heads, d).transpose(1, 2)
        k = k.view(B, L, s.heads, d).transpose(1, 2)
        v = v.view(B, L, s.heads, d).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-1, -2) * (1.0 / math.sqrt(d)), -1)
        y = (att @ v).transpose(1, 2).reshape(B, L, H)
        x = s.ln1(x + s.o(y))
        return s.ln2(x + s.fc2(F.gelu(s.fc1(x))))

enc = nn.Sequential(*[Block(256, 4) for _ in range(4)])
opt = torch.optim.AdamW(enc.parameters(), lr=1e-4)
xb = torch.randn(32, 64, 256)
def step():
    opt.zero_grad(set_to_none=True)
    enc(xb).square().mean().backward()
    opt.step()
for _ in range(3):
    step()
out["transformer_step_ms"] = statistics.median(best(step, 5 if a.quick else 20)) * 1e3
print(json.dumps(out))
