# torch_sample.py - times gpt.py's generate (multinomial sampling, the whole
# context recomputed for every token) on an attndrop checkpoint; prints one line of JSON.
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import gptpy  # noqa: E402


@torch.no_grad()
def generate(model, idx, max_new_tokens, block_size):
    """gpt.py's generate, in eval mode and without autograd: its fastest form
    (the lecture calls it with the model still in training mode)."""
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -block_size:])
        probs = F.softmax(logits[:, -1, :], dim=-1)
        idx = torch.cat((idx, torch.multinomial(probs, num_samples=1)), dim=1)
    return idx


def main():
    ap = argparse.ArgumentParser(description="Times gpt.py's generate on an attndrop checkpoint.")
    ap.add_argument("ckpt")
    ap.add_argument("--max-new-tokens", type=int, default=500)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1337)
    model, _ = gptpy.load_checkpoint(args.ckpt)
    model.eval()
    t0 = time.perf_counter()
    out = generate(model, torch.zeros((1, 1), dtype=torch.long), args.max_new_tokens, model.cfg["block_size"])
    dt = time.perf_counter() - t0
    assert out.shape[1] == args.max_new_tokens + 1
    print(json.dumps({"seconds": dt, "tokens": args.max_new_tokens, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
