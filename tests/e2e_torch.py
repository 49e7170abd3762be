"""e2e_torch.py - gpt.py's training loop in PyTorch on a text file, for
measuring the val loss bound that tests/test_e2e.sh asserts for attndrop.

  e2e_torch.py FILE SEED [max_iters]  prints gpt.py's estimate_loss at the last step
The config is the end-to-end test's: B16 T32 C64 H4 L4, dropout 0.2, lr 1e-3,
eval_iters 50.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gptpy  # noqa: E402

B, T, LR, EVAL_ITERS = 16, 32, 1e-3, 50


def main():
    path, seed = sys.argv[1], int(sys.argv[2])
    max_iters = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    with open(path, "r", encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    splits = {"train": data[:n], "val": data[n:]}
    cfg = dict(vocab_size=len(chars), block_size=T, n_embd=64, n_head=4, n_layer=4, dropout=0.2)
    model = gptpy.GPTLanguageModel(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=LR)

    def get_batch(split):
        d = splits[split]
        ix = torch.randint(len(d) - T, (B,))
        return torch.stack([d[i:i + T] for i in ix]), torch.stack([d[i + 1:i + T + 1] for i in ix])

    @torch.no_grad()
    def estimate_loss():
        model.eval()
        out = {}
        for split in ("train", "val"):
            losses = torch.zeros(EVAL_ITERS)
            for k in range(EVAL_ITERS):
                _, loss = model(*get_batch(split))
                losses[k] = loss.item()
            out[split] = losses.mean().item()
        model.train()
        return out

    for it in range(max_iters):
        if it == max_iters - 1:
            losses = estimate_loss()
        xb, yb = get_batch("train")
        _, loss = model(xb, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    print(f"seed {seed}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")


if __name__ == "__main__":
    main()
