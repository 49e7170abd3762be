"""parity.py - runs gpt.py's model in PyTorch on attndrop's inputs.

  parity.py fixture IN OUT   IN from build/tests/parity_dump (initial weights,
                             batches, dropout keep masks); OUT gets IN plus
                             PyTorch's logits, loss, gradients, the losses of
                             10 AdamW steps and the final weights. The C test
                             test_parity compares attndrop against OUT.
  parity.py greedy CKPT N    loads an attndrop checkpoint into gpt.py's model
                             and prints N greedy tokens after token 0, prompt
                             included (as `attndrop sample --temperature 0`).

Only Debian's python3-torch and python3-numpy are used.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gptpy  # noqa: E402


def fixture(inp, out):
    torch.set_num_threads(1)
    t, meta = gptpy.st_read(inp)
    cfg = json.loads(meta["config"])
    steps = int(meta["steps"])
    lr = float(meta["learning_rate"])
    model = gptpy.GPTLanguageModel(cfg)
    init = {k[len("init."):]: torch.from_numpy(v) for k, v in t.items() if k.startswith("init.")}
    missing, unexpected = model.load_state_dict(init, strict=False)
    assert not unexpected and all(k.endswith(".tril") for k in missing), (missing, unexpected)
    masks = gptpy.install_fixed_masks(model)
    where = meta.get("attn_where", "post")

    def set_masks(s):
        for (kind, l), mod in masks.items():
            mod.keep = torch.from_numpy(t[f"step{s}.{kind}.{l}"])
        for l, block in enumerate(model.blocks):
            for h, head in enumerate(block.sa.heads):
                m = torch.from_numpy(t[f"step{s}.attn.{l}.{h}"]) if where != "input" else None
                head.attn_keep = m if where == "pre" else None
                head.attn_mult = m if where == "post" else None
        model.tok_mult = torch.from_numpy(t[f"step{s}.tok"]) if where == "input" else None

    def batch(s):
        x = torch.from_numpy(t[f"step{s}.x"].astype(np.int64))
        y = torch.from_numpy(t[f"step{s}.y"].astype(np.int64))
        return x, y

    res = dict(t)
    x0, y0 = batch(0)
    model.eval()
    with torch.no_grad():
        res["torch.eval_logits"] = model(x0)[0].numpy()
    model.train()
    set_masks(0)
    logits, loss = model(x0, y0)
    loss.backward()
    res["torch.logits"] = logits.detach().numpy()
    res["torch.loss"] = np.array([loss.item()], dtype=np.float32)
    for name, p in model.named_parameters():
        res["torch.grad." + name] = p.grad.numpy().copy()

    # gpt.py's training loop from the same initial weights, same batches and masks
    model.load_state_dict(init, strict=False)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    losses = []
    for s in range(steps):
        x, y = batch(s)
        set_masks(s)
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    res["torch.losses"] = np.array(losses, dtype=np.float32)
    for name, p in model.named_parameters():
        res["torch.final." + name] = p.detach().numpy().copy()
    gptpy.st_write(out, res, meta)
    print(f"parity fixture ({meta.get('scheme', 'standard')}): loss {res['torch.loss'][0]:.6f}, losses {losses[0]:.6f} .. {losses[-1]:.6f} -> {out}")


def greedy(ckpt, n):
    torch.set_num_threads(1)
    model, vocab = gptpy.load_checkpoint(ckpt)
    model.eval()
    idx = gptpy.GPTLanguageModel.generate_greedy(model, torch.zeros((1, 1), dtype=torch.long), n)
    sys.stdout.write("".join(vocab[i] for i in idx[0].tolist()) + "\n")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "fixture":
        fixture(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "greedy":
        greedy(sys.argv[2], int(sys.argv[3]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
