"""torch_dropout.py - the cost of attndrop.torch.AttentionDropout against
nn.Dropout on (B, H, T, T) attention weights, forward and backward, on the
CPU (and a GPU when there is one). Best of 3 repeats (of 10 calls at small,
2 at lecture).
usage: python3 bench/torch_dropout.py [--threads N]"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from attndrop.schemes import SCHEMES, attention_masks, where  # noqa: E402
from attndrop.torch import AttentionDropout  # noqa: E402

schemes = [s for s in SCHEMES if where(s) == "post" or where(s) == "pre"]


def best_ms(fn, reps=3, calls=10):
    fn()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best * 1e3


class PurePyTorch(nn.Module):
    """AttentionDropout's fallback where libattndrop does not load: the package's Philox in tensor arithmetic."""

    def __init__(self, H):
        super().__init__()
        self.H, self.calls = H, 0

    def forward(self, wei):
        B, T = wei.shape[0], wei.shape[-1]
        self.calls += 1
        return wei * attention_masks("standard", 0.2, self.calls, 0, 0, self.H, T, B).to(wei.device)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    shapes = {"small": (32, 4, 64), "lecture": (64, 6, 256)}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; ms per forward+backward, best of 3", flush=True)
    print(f"{'device':7} {'shape':8} {'module':22} {'ms':>9} {'vs nn.Dropout':>14}")
    for dev in devices:
        for name, (B, H, T) in shapes.items():
            wei = torch.softmax(torch.randn(B, H, T, T, device=dev), -1).requires_grad_()
            base = None
            mods = [("nn.Dropout", nn.Dropout(0.2))] + [(s, AttentionDropout(s, 0.2, n_head=H)) for s in schemes]
            mods.append(("standard, pure PyTorch", PurePyTorch(H)))
            for label, mod in mods:
                mod.train()

                def step():
                    mod(wei).sum().backward()
                ms = best_ms(step, calls=10 if name == "small" else 2)
                base = base or ms
                print(f"{dev:7} {name:8} {label:22} {ms:9.2f} {ms / base:13.1f}x", flush=True)


if __name__ == "__main__":
    main()
