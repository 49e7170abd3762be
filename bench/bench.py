# bench.py - training throughput and peak memory of attndrop against PyTorch's gpt.py, in one run.
import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
THREADS = 2

# Step counts aim at roughly 5-20 s per run on a 2-core machine, long enough
# to average out scheduling noise; the lecture model is slow, so it gets few.
CONFIGS = {
    "tiny": dict(B=16, T=32, C=64, H=4, L=4, iters=500, warmup=10, steps=300, rounds=3),
    "small": dict(B=32, T=64, C=128, H=4, L=4, iters=60, warmup=3, steps=60, rounds=3),
    "lecture": dict(B=64, T=256, C=384, H=6, L=6, iters=4, warmup=1, steps=3, rounds=1),
}
DROPOUTS = [0.0, 0.2]


# OpenBLAS picks its kernels by the CPU unless OPENBLAS_CORETYPE names them: a machine's environment may
# pin slower ones (this development machine's asks for "Haswell", AVX2, on an AVX-512 CPU). Where it is
# set, both programs also run without it ("own": OpenBLAS's own choice) and keep their better rate.
BLAS_ENVS = [None, "own"] if os.environ.get("OPENBLAS_CORETYPE") else [None]


def blas_env(which):
    env = dict(os.environ)
    if which == "own":
        env.pop("OPENBLAS_CORETYPE", None)
    return env


def blas_kernels(build, which=None):
    """The OpenBLAS kernels attndrop reports (`attndrop --version`) under that environment."""
    out = subprocess.run([os.path.join(build, "attndrop"), "--version"], capture_output=True, text=True,
                         env=blas_env(which)).stdout
    m = re.search(r"OpenBLAS kernels: (\S+)", out)
    return m.group(1) if m else "-"


def run(cmd, env=None):
    """Runs cmd; returns (combined output, peak RSS in MiB). os.wait4 gives the
    resource usage of this child alone, which getrusage(RUSAGE_CHILDREN) would
    mix with every earlier run."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    out = p.stdout.read()
    p.stdout.close()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not reap it again
    if p.returncode != 0:
        sys.exit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{out}")
    return out, usage.ru_maxrss / 1024.0  # ru_maxrss is in KiB on Linux


def run_attndrop(build, cfg, dropout, iters, scheme="standard", threads=THREADS, blas=None):
    with tempfile.TemporaryDirectory(prefix="attndrop-bench-") as tmp:
        cmd = [os.path.join(build, "attndrop"), "train", "--task", "markov",
               "--batch-size", str(cfg["B"]), "--block-size", str(cfg["T"]),
               "--n-embd", str(cfg["C"]), "--n-head", str(cfg["H"]), "--n-layer", str(cfg["L"]),
               "--dropout", str(dropout), "--scheme", scheme, "--max-iters", str(iters),
               "--eval-interval", str(iters + 1), "--eval-iters", "1",
               "--threads", str(threads), "--out", tmp]
        out, rss = run(cmd, blas_env(blas))
        with open(os.path.join(tmp, "log.csv")) as f:
            rows = list(csv.DictReader(f))
    # The last row's rate covers only the training steps, not the evaluations.
    tps = float(rows[-1]["tokens_per_s"])
    # Giving torch the same vocabulary keeps lm_head the same size in both.
    m = re.search(r"vocabulary of (\d+) characters", out)
    vocab = int(m.group(1)) if m else 65
    return tps, rss, vocab


def run_torch(python, cfg, dropout, vocab, warmup, steps, threads, variant="heads", blas=None):
    """PyTorch's tokens/s and peak RSS; tokens/s is None where the variant does not exist in this torch."""
    cmd = [python, os.path.join(HERE, "torch_train.py"), "--variant", variant,
           "--batch-size", str(cfg["B"]), "--block-size", str(cfg["T"]),
           "--n-embd", str(cfg["C"]), "--n-head", str(cfg["H"]), "--n-layer", str(cfg["L"]),
           "--dropout", str(dropout), "--vocab-size", str(vocab),
           "--threads", str(threads), "--warmup", str(warmup), "--steps", str(steps)]
    out, rss = run(cmd, blas_env(blas))
    # Warnings may precede the result, which is always the last JSON line.
    line = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
    return line.get("tokens_per_s"), rss


def torch_available(python):
    return subprocess.run([python, "-c", "import torch"], capture_output=True).returncode == 0


def model_flops_per_token(cfg, vocab):
    """Training FLOPs per token as nanoGPT's estimate_mfu counts them: 6 per
    weight of every matrix product (forward 2, backward 4) plus the attention
    products over the full T x T (12 L T C)."""
    C, L, T = cfg["C"], cfg["L"], cfg["T"]
    n_matmul = L * 12 * C * C + C * vocab
    return 6 * n_matmul + 12 * L * T * C


def gemm_rate(build, threads, shapes, blas=None):
    """(OpenBLAS sgemm, attndrop's matmul forward) GFLOP/s per (M, N, K), best of 5 each (bench/gemm.c)."""
    args = [str(threads)] + [str(v) for sh in shapes for v in sh]
    out = subprocess.run([os.path.join(build, "bench_gemm")] + args, capture_output=True, text=True, check=True,
                         env=blas_env(blas)).stdout
    return {tuple(int(v) for v in l.split()[:3]): (float(l.split()[3]), float(l.split()[4]))
            for l in out.splitlines() if l.strip()}


def step_counts(cfg, quick):
    """(iters, warmup, steps) of a config: a tenth with --quick (attndrop needs 2 iterations for its
    last log row to carry a rate)."""
    iters, warmup, steps = cfg["iters"], cfg["warmup"], cfg["steps"]
    if quick:
        iters, warmup, steps = max(2, iters // 10), max(1, warmup // 10), max(1, steps // 10)
    return iters, warmup, steps


def print_table(title, header, rows):
    table = [header] + rows
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    print(title)
    for r in table:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))


def fmt(v, spec):
    return "" if v is None else format(v, spec)


def main():
    ap = argparse.ArgumentParser(description="Training throughput of attndrop against PyTorch's gpt.py.")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="directory holding the attndrop binary")
    ap.add_argument("--python", default=sys.executable, help="interpreter that has torch")
    ap.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated subset of " + ",".join(CONFIGS))
    ap.add_argument("--quick", action="store_true", help="a tenth of the steps: a smoke test, not a measurement")
    ap.add_argument("--out", default=None, help="CSV file to write (default BUILD/bench.csv)")
    ap.add_argument("--no-schemes", action="store_true", help="skip the per-scheme tables")
    ap.add_argument("--no-sample", action="store_true", help="skip the sampling comparison")
    ap.add_argument("--sample-only", action="store_true", help="the sampling comparison alone (lecture)")
    ap.add_argument("--sweep", default=None, metavar="N,N,...",
                    help="instead of the tables above: a thread sweep (e.g. 1,2,4,8,16) of attndrop and PyTorch "
                         "(gpt.py's heads and, with torch 2.x, qkv + scaled_dot_product_attention) side by side")
    ap.add_argument("--dropout", type=float, default=0.2, help="dropout of the sweep (default 0.2)")
    args = ap.parse_args()

    names = [n for n in args.configs.split(",") if n]
    for n in names:
        if n not in CONFIGS:
            sys.exit(f"unknown config '{n}'; choose from {','.join(CONFIGS)}")
    out_path = args.out or os.path.join(args.build, "bench.csv")
    out_dir = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(out_dir, exist_ok=True)
    have_torch = torch_available(args.python)
    if not have_torch:
        print(f"SKIP: torch not available in {args.python}; measuring attndrop only")
    if args.sweep:
        return sweep(args, names, out_path, have_torch)
    if args.sample_only:
        return bench_sample(args, out_dir, have_torch)

    # The dense-product bound: the rate at each config's largest product (the FFN's), 1 and 2 threads, of
    # OpenBLAS's sgemm (under each BLAS environment) and of attndrop's own product.
    kern = {b: blas_kernels(args.build, b) for b in BLAS_ENVS}
    print("OpenBLAS kernels: " + "; ".join(
        f"{kern[b]} ({'OPENBLAS_CORETYPE=' + os.environ['OPENBLAS_CORETYPE'] if b is None and len(BLAS_ENVS) > 1 else 'its own choice'})"
        for b in BLAS_ENVS) + "\n")
    shapes = {n: (CONFIGS[n]["B"] * CONFIGS[n]["T"], 4 * CONFIGS[n]["C"], CONFIGS[n]["C"]) for n in CONFIGS}
    g = {(b, t): gemm_rate(args.build, t, shapes.values(), b) for b in BLAS_ENVS for t in (1, 2)}
    peak = max([g[(b, 2)][sh][0] for b in BLAS_ENVS for sh in shapes.values()] +
               [g[(None, 2)][sh][1] for sh in shapes.values()])
    gemm_rows = [[n, "x".join(map(str, sh))] + [f"{g[(b, t)][sh][0]:.1f}" for b in BLAS_ENVS for t in (1, 2)] +
                 [f"{g[(None, t)][sh][1]:.1f}" for t in (1, 2)] for n, sh in shapes.items()]
    print_table("dense products at each config's FFN product (M x N x K), GFLOP/s: OpenBLAS sgemm (one call, its "
                "threads) and attndrop's matmul forward (pieces; libxsmm where built with it)",
                ["config", "shape"] + [f"sgemm {kern[b]} {t} thr" for b in BLAS_ENVS for t in (1, 2)] +
                ["attndrop 1 thr", "attndrop 2 thr"], gemm_rows)
    print(f"MFU below is model FLOP/s over {peak:.1f} GFLOP/s, the best 2-thread rate above\n")

    rows = []
    for name in names:
        cfg = CONFIGS[name]
        iters, warmup, steps = step_counts(cfg, args.quick)
        for p in DROPOUTS:
            # The best of `rounds` runs of each: this shared machine's speed drifts by tens of
            # percent, and a slow spell only ever lowers a rate. The lecture config gets one.
            a_tps = a1_tps = t_tps = t_rss = t_thr = None
            for _ in range(1 if args.quick else cfg["rounds"]):
                for blas in BLAS_ENVS:
                    tps, a_rss, vocab = run_attndrop(args.build, cfg, p, iters, blas=blas)
                    a_tps = max(a_tps or 0, tps)
                    a1_tps = max(a1_tps or 0, run_attndrop(args.build, cfg, p, iters, threads=1, blas=blas)[0])
                    if have_torch:
                        # PyTorch at its best thread count (with two, its pools can fight on small
                        # models) and in its faster form: gpt.py's heads, or with torch 2.x one qkv
                        # Linear and scaled_dot_product_attention.
                        for thr in (1, 2):
                            for variant in ("heads", "sdpa"):
                                tps, rss = run_torch(args.python, cfg, p, vocab, warmup, steps, thr, variant, blas)
                                if tps is not None and (t_tps is None or tps > t_tps):
                                    t_tps, t_rss, t_thr = tps, rss, thr
            flops = model_flops_per_token(cfg, vocab)
            rows.append(dict(config=name, dropout=p, attndrop_tokens_per_s=a_tps, attndrop_1thread_tokens_per_s=a1_tps,
                             thread_scaling=a_tps / a1_tps, torch_tokens_per_s=t_tps, torch_threads=t_thr,
                             ratio=a_tps / t_tps if t_tps else None, attndrop_peak_rss_mib=a_rss,
                             torch_peak_rss_mib=t_rss, rss_ratio=a_rss / t_rss if t_rss else None,
                             mflop_per_token=flops / 1e6, mfu=a_tps * flops / (peak * 1e9),
                             torch_mfu=t_tps * flops / (peak * 1e9) if t_tps else None))
            print(f"  {name} dropout {p}: done", file=sys.stderr, flush=True)

    cols = [("config", "config", "s"), ("dropout", "p", ".1f"), ("attndrop_tokens_per_s", "attndrop tok/s", ".0f"),
            ("torch_tokens_per_s", "torch tok/s", ".0f"), ("torch_threads", "torch thr", "d"), ("ratio", "ratio", ".2f"),
            ("attndrop_1thread_tokens_per_s", "attndrop 1 thr", ".0f"), ("thread_scaling", "2/1 thr", ".2f"),
            ("attndrop_peak_rss_mib", "attndrop MiB", ".0f"), ("torch_peak_rss_mib", "torch MiB", ".0f"),
            ("rss_ratio", "RSS ratio", ".2f"), ("mfu", "MFU", ".2f"), ("torch_mfu", "torch MFU", ".2f")]
    print_table(f"training, attndrop on 2 threads, PyTorch on its best of 1 and 2"
                f"{', both at their best of the BLAS environments above' if len(BLAS_ENVS) > 1 else ''}"
                f"; tiny and small best of 3 runs"
                f"{' (quick: not a measurement)' if args.quick else ''}",
                [c[1] for c in cols], [[fmt(r[k], sp) or "-" for k, _, sp in cols] for r in rows])
    with open(out_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([k for k, _, _ in cols] + ["mflop_per_token"])
        w.writerows([[fmt(r[k], sp) for k, _, sp in cols] + [f"{r['mflop_per_token']:.2f}"] for r in rows])
    print(f"wrote {out_path}")
    plot(out_dir, rows)
    if not args.no_schemes:
        for name in ("small", "lecture"):
            if name in names:
                bench_schemes(args, name, rows, out_dir)
    if not args.no_sample and "lecture" in names:
        bench_sample(args, out_dir, have_torch)


def sweep(args, names, out_path, have_torch):
    """Tokens/s at each thread count for attndrop and PyTorch's two forms, with
    each program's thread efficiency: tokens/s / (threads x its own 1-thread tokens/s)."""
    try:
        counts = [int(v) for v in args.sweep.split(",") if v]
    except ValueError:
        sys.exit(f"--sweep takes thread counts such as 1,2,4,8,16, not '{args.sweep}'")
    if not counts or min(counts) < 1:
        sys.exit("--sweep needs thread counts of at least 1")
    if 1 not in counts:
        counts = [1] + counts  # efficiency is relative to one thread
    tv = subprocess.run([args.python, "-c", "import torch; print(torch.__version__)"], capture_output=True,
                        text=True).stdout.strip() if have_torch else "-"
    print(f"thread sweep, dropout {args.dropout}, {os.cpu_count()} CPUs, PyTorch {tv}, OpenBLAS kernels "
          f"{' or '.join(blas_kernels(args.build, b) for b in BLAS_ENVS)} (each program at its best); best of "
          f"{'1' if args.quick else 'the rounds'} per cell{' (quick: not a measurement)' if args.quick else ''}")
    rows = []
    for name in names:
        cfg = CONFIGS[name]
        iters, warmup, steps = step_counts(cfg, args.quick)
        rounds = 1 if args.quick else cfg["rounds"]
        for n in counts:
            r = dict(config=name, threads=n, attndrop=None, heads=None, sdpa=None)
            for _ in range(rounds):
                for blas in BLAS_ENVS:  # each program at its best of the BLAS environments
                    tps, _, vocab = run_attndrop(args.build, cfg, args.dropout, iters, threads=n, blas=blas)
                    r["attndrop"] = max(r["attndrop"] or 0, tps)
                    if have_torch:
                        for v in ("heads", "sdpa"):
                            t, _ = run_torch(args.python, cfg, args.dropout, vocab, warmup, steps, n, v, blas)
                            if t is not None:
                                r[v] = max(r[v] or 0, t)
            rows.append(r)
            print(f"  {name} {n} threads: done", file=sys.stderr, flush=True)
    one = {(r["config"], k): r[k] for r in rows if r["threads"] == 1 for k in ("attndrop", "heads", "sdpa")}
    for r in rows:
        for k in ("attndrop", "heads", "sdpa"):
            base = one.get((r["config"], k))
            r[k + "_eff"] = r[k] / (r["threads"] * base) if r[k] and base else None
        best = max([v for v in (r["heads"], r["sdpa"]) if v] or [0]) or None
        r["torch_best"] = best
        r["ratio"] = r["attndrop"] / best if best else None
    cols = [("config", "config", "s"), ("threads", "threads", "d"), ("attndrop", "attndrop tok/s", ".0f"),
            ("attndrop_eff", "eff", ".2f"), ("heads", "torch heads", ".0f"), ("heads_eff", "eff", ".2f"),
            ("sdpa", "torch sdpa", ".0f"), ("sdpa_eff", "eff", ".2f"), ("ratio", "attndrop/torch best", ".2f")]
    print_table("", [c[1] for c in cols], [[fmt(r[k], sp) or "-" for k, _, sp in cols] for r in rows])
    path = os.path.join(os.path.dirname(os.path.abspath(out_path)), "bench_sweep.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["config", "threads", "attndrop_tokens_per_s", "attndrop_efficiency", "torch_heads_tokens_per_s",
                    "torch_heads_efficiency", "torch_sdpa_tokens_per_s", "torch_sdpa_efficiency", "ratio_vs_torch_best"])
        for r in rows:
            w.writerow([r["config"], r["threads"]] + [fmt(r[k], sp) for k, sp in
                       (("attndrop", ".0f"), ("attndrop_eff", ".3f"), ("heads", ".0f"), ("heads_eff", ".3f"),
                        ("sdpa", ".0f"), ("sdpa_eff", ".3f"), ("ratio", ".3f"))])
    print(f"wrote {path}")


def plot(out_dir, rows):
    """Tokens/s per config for both, as a PNG (gnuplot, when installed)."""
    data = os.path.join(out_dir, "bench_plot.dat")
    with open(data, "w") as f:
        for r in rows:
            f.write(f"{r['config']}/p{r['dropout']:g} {r['attndrop_tokens_per_s']:.0f} {r['torch_tokens_per_s'] or 0:.0f}\n")
    png = os.path.join(out_dir, "bench.png")
    script = (f"set terminal png size 900,500; set output '{png}'; set style data histograms;"
              "set style histogram clustered gap 1; set style fill solid 0.8 border -1; set logscale y;"
              "set ylabel 'training tokens/s (log scale)'; set key top right; set grid ytics;"
              "set title 'attndrop (2 threads) against PyTorch gpt.py (best of 1 and 2 threads)';"
              f"plot '{data}' using 2:xtic(1) title 'attndrop', '' using 3 title 'PyTorch'")
    try:
        subprocess.run(["gnuplot", "-e", script], check=True, capture_output=True)
        print(f"wrote {png}")
    except (OSError, subprocess.CalledProcessError):
        print("SKIP: gnuplot not available; no plot")


def bench_sample(args, out_dir, have_torch):
    """Generating text at the lecture config: attndrop with and without its KV
    cache against gpt.py's generate, 255 tokens (the context never slides) and 500."""
    cfg = CONFIGS["lecture"]
    with tempfile.TemporaryDirectory(prefix="attndrop-bench-") as tmp:
        run([os.path.join(args.build, "attndrop"), "train", "--task", "markov", "--batch-size", "1",
             "--block-size", str(cfg["T"]), "--n-embd", str(cfg["C"]), "--n-head", str(cfg["H"]),
             "--n-layer", str(cfg["L"]), "--max-iters", "1", "--eval-interval", "2", "--eval-iters", "1",
             "--out", tmp, "--overwrite"])
        ckpt = os.path.join(tmp, "model.safetensors")
        lengths = [25, 50] if args.quick else [255, 500]

        def sample_seconds(n, extra, blas=None):
            t0 = time.perf_counter()
            run([os.path.join(args.build, "attndrop"), "sample", "--ckpt", ckpt, "--max-new-tokens", str(n),
                 "--threads", str(THREADS)] + extra, blas_env(blas))
            return time.perf_counter() - t0

        # torch_sample.py times generate alone; attndrop's process start and checkpoint loading,
        # the best of 3 runs that generate nothing, are taken off its times likewise. Both
        # programs at their best of the BLAS environments.
        load = min(sample_seconds(0, [], b) for _ in range(3) for b in BLAS_ENVS)
        res = []
        for n in lengths:
            times = {}
            for label, extra in (("cached", []), ("no cache", ["--no-cache"])):
                times[label] = min(sample_seconds(n, extra, b) for b in BLAS_ENVS) - load
            t_best = t_thr = None
            if have_torch:
                for thr in (1, 2):
                    for blas in BLAS_ENVS:
                        out, _ = run([args.python, os.path.join(HERE, "torch_sample.py"), ckpt,
                                      "--max-new-tokens", str(n), "--threads", str(thr)], blas_env(blas))
                        sec = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])["seconds"]
                        if t_best is None or sec < t_best:
                            t_best, t_thr = sec, thr
            res.append((n, times["cached"], times["no cache"], t_best, t_thr))
    path = os.path.join(out_dir, "bench_sample.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["new_tokens", "attndrop_s", "attndrop_no_cache_s", "torch_s", "torch_threads", "speedup"])
        for n, c, nc, t, thr in res:
            w.writerow([n, f"{c:.2f}", f"{nc:.2f}", fmt(t, ".2f"), fmt(thr, "d"), fmt(t / c if t else None, ".2f")])
    print_table(f"\nsampling at lecture (T256 C384 H6 L6), seconds of generation (attndrop's start and loading, "
                f"{load:.2f} s, taken off); gpt.py's generate in eval mode without autograd, best of 1 and 2 threads",
                ["new tokens", "attndrop", "attndrop --no-cache", "torch", "torch thr", "speedup"],
                [[str(n), f"{c:.2f}", f"{nc:.2f}", fmt(t, ".2f") or "-", fmt(thr, "d") or "-",
                  fmt(t / c if t else None, ".2f") or "-"] for n, c, nc, t, thr in res])
    print(f"wrote {path}")


def bench_schemes(args, name, rows, out_dir):
    """Every scheme at one config, p=0.2 on every dropout site, next to `none`
    (no attention dropout) and PyTorch's standard dropout."""
    cfg = CONFIGS[name]
    iters = max(2, cfg["iters"] // 10) if args.quick else cfg["iters"]
    schemes = subprocess.run([os.path.join(args.build, "attndrop"), "schemes"], capture_output=True,
                             text=True, check=True).stdout.split("\n")
    schemes = [l.split()[0] for l in schemes if l.strip()]
    torch_tps = next((r["torch_tokens_per_s"] for r in rows if r["config"] == name and r["dropout"] == 0.2), None)
    # Rounds over all schemes, the median of each: a slow spell of the shared
    # machine then hits every scheme instead of a few neighbours. The lecture
    # config is slow, so it gets one round.
    rounds = 1 if args.quick or name == "lecture" else 3
    samples = {sc: [] for sc in schemes}
    for r in range(rounds):
        for sc in schemes:
            tps, _, _ = run_attndrop(args.build, cfg, 0.2, iters, sc)
            samples[sc].append(tps)
        print(f"  {name} schemes round {r + 1}/{rounds}: done", file=sys.stderr, flush=True)
    if rounds == 1:
        # none ran first, on a machine that may still have been warming up: once more at the end, its
        # better run kept, so that no scheme's cost is understated by a slow first run.
        samples["none"].append(run_attndrop(args.build, cfg, 0.2, iters, "none")[0])
        samples["none"] = [max(samples["none"])]
    results = [(sc, sorted(v)[len(v) // 2]) for sc, v in samples.items()]
    none = dict(results)["none"]
    c = cfg
    print(f"\nschemes at {name} (B{c['B']} T{c['T']} C{c['C']} H{c['H']} L{c['L']}), p=0.2, {THREADS} threads, "
          f"median of {rounds}")
    print(f"{'scheme':>11}  {'tok/s':>8}  {'vs none':>8}  {'vs torch standard':>17}")
    out_path = os.path.join(out_dir, "bench_schemes.csv" if name == "small" else f"bench_schemes_{name}.csv")
    with open(out_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["scheme", "tokens_per_s", "cost_vs_none", "ratio_vs_torch_standard"])
        for sc, tps in results:
            cost = none / tps - 1.0  # extra time per token over none
            vs_torch = tps / torch_tps if torch_tps else None
            print(f"{sc:>11}  {tps:8.0f}  {cost:+8.1%}  {('%.2f' % vs_torch) if vs_torch else '-':>17}")
            w.writerow([sc, f"{tps:.0f}", f"{cost:.4f}", f"{vs_torch:.3f}" if vs_torch else ""])
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
