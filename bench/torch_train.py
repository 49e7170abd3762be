# torch_train.py - times gpt.py's training loop in PyTorch; prints one line of JSON.
import argparse
import json
import os
import sys
import time

import torch

# The model must be the very one the parity tests check attndrop against.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from gptpy import GPTLanguageModel  # noqa: E402


def sdpa_model(cfg):
    """gpt.py's model with its heads fused: one qkv Linear per block and PyTorch's fused causal
    attention with its own dropout; the same parameters count and the same FLOPs."""
    nn, F = torch.nn, torch.nn.functional
    C, H, p = cfg["n_embd"], cfg["n_head"], cfg["dropout"]

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(C, 3 * C, bias=False)
            self.proj = nn.Linear(C, C)
            self.drop = nn.Dropout(p)

        def forward(self, x):
            B, T, _ = x.shape
            q, k, v = self.qkv(x).view(B, T, 3, H, C // H).permute(2, 0, 3, 1, 4)
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p if self.training else 0.0, is_causal=True)
            return self.drop(self.proj(y.transpose(1, 2).reshape(B, T, C)))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2, self.sa = nn.LayerNorm(C), nn.LayerNorm(C), Attention()
            self.ffwd = nn.Sequential(nn.Linear(C, 4 * C), nn.ReLU(), nn.Linear(4 * C, C), nn.Dropout(p))

        def forward(self, x):
            x = x + self.sa(self.ln1(x))
            return x + self.ffwd(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(cfg["vocab_size"], C)
            self.pos = nn.Embedding(cfg["block_size"], C)
            self.blocks = nn.Sequential(*[Block() for _ in range(cfg["n_layer"])])
            self.ln_f, self.head = nn.LayerNorm(C), nn.Linear(C, cfg["vocab_size"])

        def forward(self, idx, targets):
            x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
            logits = self.head(self.ln_f(self.blocks(x)))
            return logits, F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))

    return GPT()


def main():
    ap = argparse.ArgumentParser(description="Times gpt.py's training loop in PyTorch.")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--block-size", type=int, default=256)
    ap.add_argument("--n-embd", type=int, default=384)
    ap.add_argument("--n-head", type=int, default=6)
    ap.add_argument("--n-layer", type=int, default=6)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--vocab-size", type=int, default=65)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--variant", choices=["heads", "sdpa"], default="heads",
                    help="heads: gpt.py as written (one module per head); sdpa: one qkv Linear and "
                         "scaled_dot_product_attention (PyTorch 2.x), the fastest form PyTorch offers")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    # Only allowed before any inter-op work has started; intra-op threads are
    # what matter for this model, so failing here is harmless.
    try:
        torch.set_num_interop_threads(args.threads)
    except RuntimeError:
        pass
    torch.manual_seed(1337)

    cfg = {
        "vocab_size": args.vocab_size,
        "block_size": args.block_size,
        "n_embd": args.n_embd,
        "n_head": args.n_head,
        "n_layer": args.n_layer,
        "dropout": args.dropout,
    }
    if args.variant == "sdpa":
        if not hasattr(torch.nn.functional, "scaled_dot_product_attention"):
            print(json.dumps({"error": f"torch {torch.__version__} has no scaled_dot_product_attention"}))
            return
        model = sdpa_model(cfg)
    else:
        model = GPTLanguageModel(cfg)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
    # Token values do not change the cost of a step, so random ids stand in
    # for a text; the length matches attndrop's built-in task.
    data = torch.randint(args.vocab_size, (200000,), dtype=torch.long)
    B, T = args.batch_size, args.block_size

    def get_batch():
        ix = torch.randint(len(data) - T, (B,))
        x = torch.stack([data[i : i + T] for i in ix])
        y = torch.stack([data[i + 1 : i + T + 1] for i in ix])
        return x, y

    def step():
        xb, yb = get_batch()
        _, loss = model(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    dt = time.perf_counter() - t0

    print(json.dumps({"tokens_per_s": B * T * args.steps / dt, "steps": args.steps, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
