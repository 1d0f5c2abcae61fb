#!/usr/bin/python3
"""PyTorch side of `flm bench step`: runs the reference benchmark (shared/reference/flm_bench.py, imported
and run unchanged, with the same arguments), then

  - counts the FLOPs of one more step, untimed, the way flm counts its own (native/ops_flops.cc): every
    matrix product (mm, addmm, bmm, baddbmm, addbmm, mv) and convolution (forward and backward) the step
    runs, from its operand shapes, a multiply-add being 2 FLOPs; ops run with grad mode on count as
    forward, with it off (the autograd engine's backward) as backward. torch 1.13 has no
    torch.utils.flop_counter, so this is a TorchDispatchMode that sees the same aten kernels;
  - times a 512x768x768 float32 matmul (the matmul peak of `flm bench engine`) at the same threads;
  - with --profile N (taken out of the reference's arguments), times N more steps under torch.profiler and
    reports every op's calls and self / total milliseconds per step (key_averages), as flm's --profile does.

Prints one JSON line: the reference's own, plus gflop_per_step, gflop_forward, gflop_backward,
flops_by_op and matmul_peak_gflops (or flops_error when counting failed), and profile (or profile_error).

    /usr/bin/python3 step_peer.py --reference PATH/flm_bench.py [--profile N] [flm_bench.py's arguments]
"""
import contextlib
import importlib.util
import io
import json
import statistics
import sys
import time

import torch

KERNELS = ("mm", "addmm", "bmm", "baddbmm", "addbmm", "mv", "convolution", "convolution_backward")


def prod(xs):
    p = 1
    for x in xs:
        p *= int(x)
    return p


def conv_flops(batch, weight_shape, positions):
    """2 * batch * |weight| * output positions (torch.utils.flop_counter's conv_flop_count)."""
    return 2 * int(batch) * prod(weight_shape) * prod(positions)


def flops_of(name, args, out):
    if name == "mm":
        a, b = args[0].shape, args[1].shape
        return 2 * a[0] * a[1] * b[1]
    if name == "addmm":
        a, b = args[1].shape, args[2].shape
        return 2 * a[0] * a[1] * b[1]
    if name == "bmm":
        a, b = args[0].shape, args[1].shape
        return 2 * a[0] * a[1] * a[2] * b[2]
    if name in ("baddbmm", "addbmm"):
        a, b = args[1].shape, args[2].shape
        return 2 * a[0] * a[1] * a[2] * b[2]
    if name == "mv":
        a = args[0].shape
        return 2 * a[0] * a[1]
    if name == "convolution":  # input, weight, bias, stride, padding, dilation, transposed, ...
        x, w = args[0].shape, args[1].shape
        transposed = bool(args[6]) if len(args) > 6 else False
        return conv_flops(x[0], w, x[2:] if transposed else out.shape[2:])
    if name == "convolution_backward":  # grad_output, input, weight, ..., transposed (7), ..., output_mask (10)
        g, x, w = args[0].shape, args[1].shape, args[2].shape
        transposed = bool(args[7]) if len(args) > 7 else False
        mask = args[10] if len(args) > 10 else (True, True, True)
        return (int(bool(mask[0])) + int(bool(mask[1]))) * conv_flops(g[0], w, x[2:] if transposed else g[2:])
    return 0


def count_flops(fn):
    from torch.utils._python_dispatch import TorchDispatchMode

    counts = {}

    class FlopCounter(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            name = str(func.overloadpacket).split(".")[-1]
            if name in KERNELS:
                c = counts.setdefault(name, {"op": name, "calls": 0, "forward": 0, "backward": 0})
                c["calls"] += 1
                c["forward" if torch.is_grad_enabled() else "backward"] += int(flops_of(name, args, out))
            return out

    with FlopCounter():
        fn()
    return [counts[k] for k in KERNELS if k in counts]


def matmul_peak_gflops(reps=50):
    a, b = torch.randn(512, 768), torch.randn(768, 768)
    torch.matmul(a, b)
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        torch.matmul(a, b)
        ts.append(time.perf_counter() - t)
    return 2 * 512 * 768 * 768 / statistics.median(ts) / 1e9


def profile_ops(fn, steps):
    """Every op's calls and self / total milliseconds per step over `steps` runs of fn, by self time."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            fn()
    ops = [{"op": e.key, "calls": e.count / steps, "selfMs": e.self_cpu_time_total / 1e3 / steps,
            "totalMs": e.cpu_time_total / 1e3 / steps} for e in prof.key_averages()]
    return sorted(ops, key=lambda o: -o["selfMs"])


def main():
    argv = sys.argv[1:]
    if len(argv) < 2 or argv[0] != "--reference":
        sys.exit("usage: step_peer.py --reference PATH/flm_bench.py [--profile N] [flm_bench.py's arguments]")
    path, rest = argv[1], argv[2:]
    profile_steps = 0
    if len(rest) >= 2 and rest[0] == "--profile":
        profile_steps, rest = int(rest[1]), rest[2:]
    spec = importlib.util.spec_from_file_location("flm_bench", path)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)

    steps = []
    make_step = ref.make_step

    def capturing_make_step(*a, **k):  # keeps the step function the reference builds
        step = make_step(*a, **k)
        steps.append(step)
        return step

    ref.make_step = capturing_make_step
    sys.argv = [path] + rest
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        ref.main()
    result = json.loads(buf.getvalue().strip().splitlines()[-1])

    try:
        by_op = count_flops(steps[-1])
        fwd = sum(c["forward"] for c in by_op)
        bwd = sum(c["backward"] for c in by_op)
        result.update(gflop_per_step=(fwd + bwd) / 1e9, gflop_forward=fwd / 1e9, gflop_backward=bwd / 1e9, flops_by_op=by_op)
    except Exception as e:  # noqa: BLE001 - the timing stands without the count
        result["flops_error"] = f"{type(e).__name__}: {e}"
    result["matmul_peak_gflops"] = matmul_peak_gflops()
    if profile_steps > 0:
        try:
            result["profile"] = profile_ops(steps[-1], profile_steps)
        except Exception as e:  # noqa: BLE001 - the timing stands without the profile
            result["profile_error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
