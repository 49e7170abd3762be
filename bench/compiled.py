"""compiled.py [--batch 16] [--steps 20] [--threads 2] [--scheme nonzero] [--backend inductor] - a nanoGPT-shaped
model (n_layer 6, n_head 6, n_embd 384, T 256, GELU MLP, AdamW; written here, not nanoGPT's code) trained under
torch.compile with attndrop.functional.scaled_dot_product_attention at p = 0.2, against the same model with
PyTorch's SDPA and its standard dropout: graph breaks (torch._dynamo.explain), graphs compiled over the run
(a recompilation would add one), and the median step time of the steps after the first two. Needs PyTorch
>= 2.4; ATTNDROP_LIB names the library."""
import argparse
import os
import statistics
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "python"))
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import attndrop.functional as AF  # noqa: E402


class Attention(nn.Module):
    def __init__(self, C, H, p, scheme):
        super().__init__()
        self.H, self.p, self.scheme = H, p, scheme
        self.qkv, self.proj = nn.Linear(C, 3 * C), nn.Linear(C, C)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.H, C // self.H).transpose(1, 2) for t in self.qkv(x).split(C, dim=2))
        p = self.p if self.training else 0.0
        if self.scheme == "sdpa":
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        else:
            y = AF.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True, scheme=self.scheme)
        return self.proj(y.transpose(1, 2).contiguous().view(B, T, C))


class Block(nn.Module):
    def __init__(self, C, H, p, scheme):
        super().__init__()
        self.ln1, self.ln2, self.attn = nn.LayerNorm(C), nn.LayerNorm(C), Attention(C, H, p, scheme)
        self.mlp = nn.Sequential(nn.Linear(C, 4 * C), nn.GELU(), nn.Linear(4 * C, C), nn.Dropout(p))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, scheme, V=65, C=384, H=6, L=6, T=256, p=0.2):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(T, C)
        self.blocks = nn.Sequential(*[Block(C, H, p, scheme) for _ in range(L)])
        self.ln, self.head = nn.LayerNorm(C), nn.Linear(C, V)

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        logits = self.head(self.ln(self.blocks(x)))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def run(scheme, a):
    torch.manual_seed(0)
    model = GPT(scheme)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    g = torch.Generator().manual_seed(1)
    idx, tgt = (torch.randint(0, 65, (a.batch, 256), generator=g) for _ in range(2))
    torch._dynamo.reset()
    explained = torch._dynamo.explain(model)(idx, tgt)
    torch._dynamo.reset()
    from torch._dynamo.utils import counters
    counters.clear()
    cm = torch.compile(model, backend=a.backend)
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        loss = cm(idx, tgt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    graphs = counters["stats"]["unique_graphs"]
    return explained.graph_break_count, graphs, statistics.median(times[2:]), times[0], float(loss.detach())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scheme", default="nonzero")
    ap.add_argument("--backend", default="inductor")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"PyTorch {torch.__version__}, {a.threads} threads, B{a.batch} T256 C384 H6 L6, p=0.2, {a.steps} steps, "
          f"torch.compile(backend={a.backend})\n")
    print("| attention | graph breaks | graphs compiled | first step s | median step s (steps 3..) | final loss |")
    print("|---|---|---|---|---|---|")
    res = {}
    for s in ("sdpa", a.scheme):
        breaks, graphs, med, first, loss = run(s, a)
        res[s] = med
        label = "PyTorch SDPA, dropout_p=0.2" if s == "sdpa" else f"attndrop, scheme {s}"
        print(f"| {label} | {breaks} | {graphs} | {first:.1f} | {med:.3f} | {loss:.4f} |", flush=True)
    print(f"\nstep time, attndrop / SDPA: {res[a.scheme] / res['sdpa']:.2f}")


if __name__ == "__main__":
    main()
