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
