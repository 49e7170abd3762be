# bench.py - training throughput and peak memory of attndrop against PyTorch's gpt.py, in one run.
import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
THREADS = 2

# Step counts aim at roughly 5-20 s per run on a 2-core machine, long enough
# to average out scheduling noise; the lecture model is slow, so it gets few.
CONFIGS = {
    "tiny": dict(B=16, T=32, C=64, H=4, L=4, iters=500, warmup=10, steps=300),
    "small": dict(B=32, T=64, C=128, H=4, L=4, iters=60, warmup=3, steps=60),
    "lecture": dict(B=64, T=256, C=384, H=6, L=6, iters=4, warmup=1, steps=3),
}
DROPOUTS = [0.0, 0.2]
HEADER = ["config", "dropout", "attndrop_tokens_per_s", "torch_tokens_per_s", "ratio",
          "attndrop_peak_rss_mib", "torch_peak_rss_mib"]


def run(cmd):
    """Runs cmd; returns (combined output, peak RSS in MiB). os.wait4 gives the
    resource usage of this child alone, which getrusage(RUSAGE_CHILDREN) would
    mix with every earlier run."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.stdout.read()
    p.stdout.close()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not reap it again
    if p.returncode != 0:
        sys.exit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{out}")
    return out, usage.ru_maxrss / 1024.0  # ru_maxrss is in KiB on Linux


def run_attndrop(build, cfg, dropout, iters, scheme="standard"):
    with tempfile.TemporaryDirectory(prefix="attndrop-bench-") as tmp:
        cmd = [os.path.join(build, "attndrop"), "train", "--task", "markov",
               "--batch-size", str(cfg["B"]), "--block-size", str(cfg["T"]),
               "--n-embd", str(cfg["C"]), "--n-head", str(cfg["H"]), "--n-layer", str(cfg["L"]),
               "--dropout", str(dropout), "--scheme", scheme, "--max-iters", str(iters),
               "--eval-interval", str(iters + 1), "--eval-iters", "1",
               "--threads", str(THREADS), "--out", tmp]
        out, rss = run(cmd)
        with open(os.path.join(tmp, "log.csv")) as f:
            rows = list(csv.DictReader(f))
    # The last row's rate covers only the training steps, not the evaluations.
    tps = float(rows[-1]["tokens_per_s"])
    # Giving torch the same vocabulary keeps lm_head the same size in both.
    m = re.search(r"vocabulary of (\d+) characters", out)
    vocab = int(m.group(1)) if m else 65
    return tps, rss, vocab


def run_torch(python, cfg, dropout, vocab, warmup, steps):
    cmd = [python, os.path.join(HERE, "torch_train.py"),
           "--batch-size", str(cfg["B"]), "--block-size", str(cfg["T"]),
           "--n-embd", str(cfg["C"]), "--n-head", str(cfg["H"]), "--n-layer", str(cfg["L"]),
           "--dropout", str(dropout), "--vocab-size", str(vocab),
           "--threads", str(THREADS), "--warmup", str(warmup), "--steps", str(steps)]
    out, rss = run(cmd)
    # Warnings may precede the result, which is always the last JSON line.
    line = [l for l in out.splitlines() if l.startswith("{")][-1]
    return json.loads(line)["tokens_per_s"], rss


def torch_available(python):
    return subprocess.run([python, "-c", "import torch"], capture_output=True).returncode == 0


def main():
    ap = argparse.ArgumentParser(description="Training throughput of attndrop against PyTorch's gpt.py.")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="directory holding the attndrop binary")
    ap.add_argument("--python", default=sys.executable, help="interpreter that has torch")
    ap.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated subset of " + ",".join(CONFIGS))
    ap.add_argument("--quick", action="store_true", help="a tenth of the steps: a smoke test, not a measurement")
    ap.add_argument("--out", default=None, help="CSV file to write (default BUILD/bench.csv)")
    ap.add_argument("--no-schemes", action="store_true", help="skip the per-scheme table")
    args = ap.parse_args()

    names = [n for n in args.configs.split(",") if n]
    for n in names:
        if n not in CONFIGS:
            sys.exit(f"unknown config '{n}'; choose from {','.join(CONFIGS)}")
    out_path = args.out or os.path.join(args.build, "bench.csv")
    have_torch = torch_available(args.python)
    if not have_torch:
        print(f"SKIP: torch not available in {args.python}; measuring attndrop only")

    rows = []
    for name in names:
        cfg = CONFIGS[name]
        iters, warmup, steps = cfg["iters"], cfg["warmup"], cfg["steps"]
        if args.quick:
            # attndrop needs 2 iterations for its last log row to carry a rate.
            iters, warmup, steps = max(2, iters // 10), max(1, warmup // 10), max(1, steps // 10)
        for p in DROPOUTS:
            a_tps, a_rss, vocab = run_attndrop(args.build, cfg, p, iters)
            t_tps = t_rss = None
            if have_torch:
                t_tps, t_rss = run_torch(args.python, cfg, p, vocab, warmup, steps)
            ratio = a_tps / t_tps if t_tps else None
            rows.append([name, p, a_tps, t_tps, ratio, a_rss, t_rss])
            print(f"  {name} dropout {p}: done", file=sys.stderr, flush=True)

    def fmt(v, spec):
        return "" if v is None else format(v, spec)

    specs = ["s", ".1f", ".0f", ".0f", ".2f", ".1f", ".1f"]
    table = [["config", "dropout", "attndrop tok/s", "torch tok/s", "ratio", "attndrop RSS MiB", "torch RSS MiB"]]
    table += [[fmt(v, s) or "-" for v, s in zip(r, specs)] for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    print(f"{THREADS} threads{' (quick: not a measurement)' if args.quick else ''}")
    for r in table:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))

    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows([[fmt(v, s) for v, s in zip(r, specs)] for r in rows])
    print(f"wrote {out_path}")
    if not args.no_schemes:
        bench_schemes(args, rows)


def bench_schemes(args, rows):
    """Every scheme at the small config, p=0.2 on every dropout site, next to
    `none` (no attention dropout) and PyTorch's standard dropout."""
    cfg = CONFIGS["small"]
    iters = max(2, cfg["iters"] // 10) if args.quick else cfg["iters"]
    schemes = subprocess.run([os.path.join(args.build, "attndrop"), "schemes"], capture_output=True,
                             text=True, check=True).stdout.split("\n")
    schemes = [l.split()[0] for l in schemes if l.strip()]
    torch_tps = next((r[3] for r in rows if r[0] == "small" and r[1] == 0.2), None)
    # Rounds over all schemes, the median of each: a slow spell of the shared
    # machine then hits every scheme instead of a few neighbours.
    rounds = 1 if args.quick else 3
    samples = {sc: [] for sc in schemes}
    for r in range(rounds):
        for sc in schemes:
            tps, _, _ = run_attndrop(args.build, cfg, 0.2, iters, sc)
            samples[sc].append(tps)
        print(f"  schemes round {r + 1}/{rounds}: done", file=sys.stderr, flush=True)
    results = [(sc, sorted(v)[len(v) // 2]) for sc, v in samples.items()]
    none = dict(results)["none"]
    print(f"\nschemes at small (B32 T64 C128 H4 L4), p=0.2, {THREADS} threads, median of {rounds}")
    print(f"{'scheme':>11}  {'tok/s':>8}  {'vs none':>8}  {'vs torch standard':>17}")
    out_path = os.path.join(os.path.dirname(os.path.abspath(args.out or os.path.join(args.build, "bench.csv"))),
                            "bench_schemes.csv")
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
