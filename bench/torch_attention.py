# torch_attention.py - PyTorch's causal attention on the GPU at the shapes tests/test_cuda.c times
# attndrop's: milliseconds of one forward and one backward, fp32 (TF32 off), median of 20 after warm-up.
import json
import sys
import time

import torch
import torch.nn.functional as F


def timed(fn, reps=20):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[len(ts) // 2] * 1e3


def main():
    if not torch.cuda.is_available():
        print("SKIP: torch has no CUDA device")
        return
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    for B, T, C, H in ((2, 80, 48, 3), (4, 256, 384, 6)):
        hs = C // H
        for p in (0.0, 0.2):
            q, k, v = (torch.randn(B, H, T, hs, device="cuda", requires_grad=True) for _ in range(3))
            g = torch.randn(B, H, T, hs, device="cuda")

            def sdpa():
                return F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)

            def heads():  # gpt.py's Head: scores, causal mask, softmax, dropout, weighted values
                w = (q @ k.transpose(-2, -1)) * hs ** -0.5
                w = w.masked_fill(torch.ones(T, T, device="cuda").tril() == 0, float("-inf"))
                return F.dropout(F.softmax(w, dim=-1), p) @ v

            row = {"B": B, "T": T, "C": C, "H": H, "p": p}
            for name, f in (("sdpa", sdpa), ("gptpy", heads)):
                row[name + "_fwd_ms"] = timed(lambda: f())
                out = f()
                row[name + "_bwd_ms"] = timed(lambda: torch.autograd.grad(out, (q, k, v), g, retain_graph=True))
            print(json.dumps(row))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
