"""functional.py [--shapes lecture,small] [--threads 2] [--repeat 5] [--schemes all|a,b] [--device cpu|cuda] [--cases padded,gqa,noncausal,long] - the fused op
attndrop.functional.scaled_dot_product_attention against PyTorch's own scaled_dot_product_attention in the
same process: forward + backward of causal attention at p = 0.2 (and PyTorch at p = 0), best of --repeat
interleaved rounds after a warm-up, every scheme; then the peak memory (ru_maxrss growth of a fresh child process) of the op,
SDPA's fused path and the unfused (B, H, T, T) path (VmHWM after a reset through /proc/self/clear_refs). q, k, v come as nanoGPT makes them, (B, T, H, D)
views transposed to (B, H, T, D). With --device cuda (a libattndrop built by make CUDA=1 in ATTNDROP_LIB) the
tensors are on the GPU, each step is timed to torch.cuda.synchronize(), and the memory is the growth of
torch.cuda.max_memory_allocated over one step. Prints a markdown table. With --cases, SDPA's other calls instead (the general kernels): a left-padded batch, grouped heads,
non-causal attention and one long context, each against SDPA at p = 0.2 and p = 0 in the same rounds.
"""
import argparse
import os
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "python"))
import torch  # noqa: E402

SHAPES = {"lecture": (64, 6, 256, 64), "small": (32, 4, 64, 32)}


DEVICE = "cpu"


def inputs(shape, seed=0):
    B, H, T, D = shape
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(B, T, H, D, generator=g).to(DEVICE).transpose(1, 2).requires_grad_() for _ in range(3)]


def sync():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def step(fn, q, k, v, grad):
    for t in (q, k, v):
        t.grad = None
    fn(q, k, v).backward(grad)
    sync()


def best(fns, shape, repeat):
    """Best time of each of fns (a dict), measured in interleaved rounds (every fn once per round, after a
    warm-up of each): a burst of load from the machine's neighbours then slows every fn of a round, not one
    fn's every repeat, and the ratios stay fair."""
    q, k, v = inputs(shape)
    grad = torch.randn(shape).to(DEVICE)
    for fn in fns.values():
        step(fn, q, k, v, grad)
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            step(fn, q, k, v, grad)
            times[name].append(time.perf_counter() - t0)
    return {name: min(t) for name, t in times.items()}


def peak_cuda(shape, scheme, p):
    """Growth of the GPU's allocated memory (MiB) over one forward + backward, after a warm-up one."""
    q, k, v = inputs(shape)
    grad = torch.randn(shape).to(DEVICE)
    fn = ops(scheme, p)
    step(fn, q, k, v, grad)
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    step(fn, q, k, v, grad)
    return (torch.cuda.max_memory_allocated() - base) / 2**20


def ops(scheme, p):
    import attndrop.functional as AF
    F = torch.nn.functional
    if scheme == "sdpa":
        return lambda q, k, v: F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
    if scheme == "unfused":
        def unfused(q, k, v):
            T = q.shape[2]
            att = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5
            att = att.masked_fill(~torch.tril(torch.ones(T, T, dtype=torch.bool, device=q.device)), float("-inf"))
            return F.dropout(torch.softmax(att, -1), p) @ v
        return unfused
    return lambda q, k, v: AF.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True, scheme=scheme)


# SDPA's other calls (the general kernels): (B, H, H_kv, T, D), a left-padding mask or none, causal or not
CASES = {
    "padded": ((64, 6, 6, 256, 64), True, True),       # lecture, rows left-padded by 0..63 keys
    "gqa": ((64, 6, 2, 256, 64), False, True),         # lecture's heads over 2 key/value heads
    "noncausal": ((64, 6, 6, 256, 64), False, False),  # an encoder at lecture's shape
    "long": ((1, 6, 6, 2048, 64), False, True),        # one long context
}


def case_inputs(case, seed=0):
    (B, H, Hk, T, D), padded, causal = CASES[case]
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, T, H, D, generator=g).transpose(1, 2).requires_grad_()
    k, v = (torch.randn(B, T, Hk, D, generator=g).transpose(1, 2).requires_grad_() for _ in range(2))
    pad = torch.arange(B) % 64
    mask = (torch.arange(T).view(1, 1, 1, T) >= pad.view(B, 1, 1, 1)) if padded else None
    if mask is not None and causal:  # SDPA takes no mask with is_causal=True: the causal part joins the mask
        mask = mask & torch.ones(T, T, dtype=torch.bool).tril()
    return q, k, v, mask, causal


def case_ops(case, mask, causal):
    import attndrop.functional as AF
    F = torch.nn.functional
    gqa = CASES[case][0][1] != CASES[case][0][2]
    fns = {f"sdpa {p}": (lambda p: lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, dropout_p=p, is_causal=causal and mask is None, enable_gqa=gqa))(p) for p in (0.2, 0.0)}
    for scheme in ("standard", "nonzero"):
        fns[scheme] = (lambda s: lambda q, k, v: AF.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=0.2, is_causal=causal and mask is None, enable_gqa=gqa, scheme=s))(scheme)
    return fns


def bench_cases(names, repeat):
    print("| case (B, H, H_kv, T, D) | SDPA p=0.2 ms | SDPA p=0 ms | attndrop standard ms | attndrop nonzero ms | "
          "speed-up over SDPA p=0.2 | time over SDPA p=0 | standard / SDPA p=0 by round: median (min-max) |\n"
          "|---|---|---|---|---|---|---|---|")
    for case in names:
        q, k, v, mask, causal = case_inputs(case)
        fns = case_ops(case, mask, causal)
        grad = torch.randn(q.shape)
        for fn in fns.values():
            step(fn, q, k, v, grad)
        times = {name: [] for name in fns}
        for _ in range(repeat):
            for name, fn in fns.items():
                t0 = time.perf_counter()
                step(fn, q, k, v, grad)
                times[name].append(time.perf_counter() - t0)
        t = {name: min(x) for name, x in times.items()}
        a = [t["standard"], t["nonzero"]]
        # the ratio within each round (both ran under the same load), then its median and range over the rounds
        r = sorted(s / z for s, z in zip(times["standard"], times["sdpa 0.0"]))
        med = r[len(r) // 2] if len(r) % 2 else (r[len(r) // 2 - 1] + r[len(r) // 2]) / 2
        print(f"| {case} {CASES[case][0]} | {t['sdpa 0.2'] * 1e3:.0f} | {t['sdpa 0.0'] * 1e3:.0f} | "
              f"{a[0] * 1e3:.0f} | {a[1] * 1e3:.0f} | {t['sdpa 0.2'] / max(a):.2f}x .. {t['sdpa 0.2'] / min(a):.2f}x | "
              f"{min(a) / t['sdpa 0.0']:.2f} .. {max(a) / t['sdpa 0.0']:.2f} | {med:.2f} ({r[0]:.2f}-{r[-1]:.2f}) |",
              flush=True)


def vm(field):
    """A field of /proc/self/status in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_child(args):
    """Peak RSS growth (MiB) of one forward + backward after a warm-up one, in a fresh process."""
    out = subprocess.run([sys.executable, __file__, "--peak"] + args, capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", default="lecture,small")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--schemes", default="all")
    ap.add_argument("--peak", nargs=3, metavar=("SHAPE", "SCHEME", "P"))
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--cases", help="SDPA's other calls instead, comma-separated: " + ",".join(CASES))
    a = ap.parse_args()
    global DEVICE
    DEVICE = a.device
    torch.set_num_threads(a.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    if a.peak:
        shape, scheme, p = SHAPES[a.peak[0]], a.peak[1], float(a.peak[2])
        q, k, v = inputs(shape)
        grad = torch.randn(shape)
        fn = ops(scheme, p)
        step(fn, q, k, v, grad)  # a warm-up step: libraries' first-call set-up is not the op's memory
        with open("/proc/self/clear_refs", "w") as f:  # resets VmHWM, the peak resident set (Linux >= 4.0)
            f.write("5")
        base = vm("VmRSS")
        step(fn, q, k, v, grad)
        print((vm("VmHWM") - base) / 1024.0)
        return
    if a.cases:
        print(f"PyTorch {torch.__version__}, {a.threads} threads, forward + backward, best of {a.repeat} "
              f"interleaved rounds\n")
        bench_cases(a.cases.split(","), a.repeat)
        return
    from attndrop.schemes import SCHEMES, where
    import attndrop.lib
    attndrop.lib.library().ad_get_threads()
    schemes = [s for s in SCHEMES if where(s) != "input"] if a.schemes == "all" else a.schemes.split(",")
    where_ = torch.cuda.get_device_name() if DEVICE == "cuda" else f"{a.threads} threads"
    print(f"PyTorch {torch.__version__}, {where_}, forward + backward, best of {a.repeat} interleaved rounds (ms)\n")
    for name in a.shapes.split(","):
        shape = SHAPES[name]
        fns = {"sdpa 0.2": ops("sdpa", 0.2), "sdpa 0": ops("sdpa", 0.0)}
        fns.update((s, ops(s, 0.2)) for s in schemes)
        t = best(fns, shape, a.repeat)
        sd2, sd0 = t["sdpa 0.2"], t["sdpa 0"]
        print(f"### {name} (B, H, T, D) = {shape}: SDPA p=0.2 {sd2 * 1e3:.1f} ms, SDPA p=0 {sd0 * 1e3:.1f} ms\n")
        print("| scheme | attndrop ms | vs SDPA p=0.2 (speed-up) | vs SDPA p=0 (time ratio) |\n|---|---|---|---|")
        for s in schemes:
            print(f"| {s} | {t[s] * 1e3:.1f} | {sd2 / t[s]:.2f}x | {t[s] / sd0:.2f} |")
        measure = (lambda k: peak_cuda(shape, k, 0.2)) if DEVICE == "cuda" else (lambda k: peak_child([name, k, "0.2"]))
        mem = {k: measure(k) for k in ("standard", "sdpa", "unfused")}
        print(f"\npeak memory growth of one step (MiB): attndrop {mem['standard']:.0f}, SDPA {mem['sdpa']:.0f}, "
              f"unfused {mem['unfused']:.0f}; the (B, H, T, T) float tensor is "
              f"{shape[0] * shape[1] * shape[2] ** 2 * 4 / 2**20:.0f} MiB\n")


if __name__ == "__main__":
    main()
