"""test_python.py BUILD ATTNDROP - the Python package (python/attndrop): its
Philox against the known-answer vectors and the C library, every scheme's
masks against the C library's (post- and pre-softmax, input, causal and
bidirectional, a batch split over processes), a training step of the
package's gpt.py model with exact masks against the C model's step for every
scheme (loss and every gradient), the AttentionDropout module's behaviour,
and the ctypes API (stats, demo, train, sample) with its errors raised as
exceptions. Prints "python: N passed, M failed"."""
import json
import ctypes
import os
import subprocess
import sys
import tempfile

import pycheck

here = pycheck.here
build, attndrop_bin = pycheck.setup()

import numpy as np  # noqa: E402
import torch  # noqa: E402

from attndrop import lib, philox as ph  # noqa: E402
from attndrop import gpt  # noqa: E402
from attndrop.schemes import SCHEMES, attention_masks, input_multipliers, where  # noqa: E402
from attndrop.torch import AttentionDropout, set_step  # noqa: E402

tally = pycheck.Tally("python")
check = tally.check


# Philox: Random123's known answers, and the C library on other counters
kat = [((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
       ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
       ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1))]
for ctr, key, want in kat:
    got = ph.philox4x32(*[torch.tensor(c) for c in ctr], *key)
    check(tuple(int(g) for g in got) == want, f"Philox known answer {ctr}")
rng = np.random.default_rng(5)
same = 0
for _ in range(50):
    ctr, key = [int(v) for v in rng.integers(0, 2**32, 4)], [int(v) for v in rng.integers(0, 2**32, 2)]
    same += [int(g) for g in ph.philox4x32(*[torch.tensor(c) for c in ctr], *key)] == lib.philox(ctr, key)
check(same == 50, f"Philox: {50 - same} of 50 random blocks differ from the C library's")

# every scheme's masks against the C library's, row by row
B, H, T, seed, step, layer = 3, 3, 9, 77, 5, 1
idx = np.random.default_rng(1).integers(0, 7, (B, T))
for scheme in SCHEMES:
    for p in (0.3, 0.7):
        for bidir in (False, True):
            for row0 in (0, 2):
                m = attention_masks(scheme, p, seed, step, layer, H, T, B, row0, bidir).numpy()
                bad = 0
                for b in range(B):
                    for h in range(H):
                        for i in range(T):
                            n = T if bidir else i + 1
                            c = lib.drop_row(scheme, p, seed, step, layer, H, T, b, h, i, np.ones(n), bidir, row0)
                            if where(scheme) == "pre":
                                bad += not np.array_equal(m[b, h, i, :n] > 0, c > 0)
                            else:
                                bad += not np.array_equal(m[b, h, i, :n], c.astype(np.float32))
                            bad += bool(m[b, h, i, n:].any())
                check(bad == 0, f"{scheme} p={p} bidirectional={bidir} row0={row0}: {bad} rows differ from the C library's")
        if where(scheme) == "input":
            mi = input_multipliers(scheme, p, seed, step, torch.tensor(idx), row0=1).numpy()
            ok = all(np.array_equal(mi[b], lib.input_mask(scheme, p, seed, step, idx[b], b, 1)) for b in range(B))
            check(ok, f"{scheme} p={p}: input multipliers differ from the C library's")

# a training step of gpt.py's model with exact masks against the C model's, every scheme
tmp = tempfile.mkdtemp()
worst = 0.0
for scheme in SCHEMES:
    out = os.path.join(tmp, scheme)
    r = subprocess.run([attndrop_bin, "train", "--task", "markov", "--task-chars", "5000", "--batch-size", "4",
                        "--block-size", "12", "--n-embd", "16", "--n-head", "2", "--n-layer", "2", "--max-iters", "2",
                        "--eval-iters", "1", "--scheme", scheme, "--attn-dropout", "0.4", "--dropout", "0.2",
                        "--threads", "1", "--out", out], capture_output=True, text=True)
    check(r.returncode == 0, f"{scheme}: attndrop train failed: {r.stderr}")
    ckpt = os.path.join(out, "model.safetensors")
    cm = lib.Model(ckpt, batch=4, training=True)
    x = np.random.default_rng(2).integers(0, cm.config["vocab_size"], (4, 12))
    y = np.roll(x, -1, axis=1)
    closs = cm.forward(x, y, train=True, seed=42, step=7)
    cgrads = cm.backward()
    model, _ = gpt.load_checkpoint(ckpt, exact_masks=True, seed=42)
    model.train()
    set_step(model, 7)
    _, loss = model(torch.tensor(x, dtype=torch.long), torch.tensor(y, dtype=torch.long))
    loss.backward()
    rel = abs(loss.item() - closs) / abs(closs)
    for name, p in model.named_parameters():
        g, cg = p.grad.numpy(), cgrads[name]
        rel = max(rel, float(np.abs(g - cg).max() / max(np.abs(cg).max(), 1e-6)))
    worst = max(worst, rel)
    check(rel < 1e-5, f"{scheme}: a training step differs from the C library's by {rel:.2g} (relative)")
print(f"a training step, every scheme: loss and gradients within {worst:.2g} of the C library's")

# the module: eval is the identity, per-head equals all-heads, pre-softmax rows renormalised, steps advance
wei = torch.softmax(torch.randn(2, 4, 6, 6).masked_fill(torch.triu(torch.ones(6, 6), 1).bool(), float("-inf")), -1)
d = AttentionDropout("standard", 0.5, n_head=4, layer=0, seed=1337)
d.eval()
check(torch.equal(d(wei), wei), "eval mode must leave the weights alone")
d.train()
a = d(wei)
check(d.step == 1, f"auto_step: step {d.step} after one forward")
d.step = 0
heads = [AttentionDropout("standard", 0.5, n_head=4, head=h, seed=1337) for h in range(4)]
check(all(torch.equal(heads[h](wei[:, h]), a[:, h]) for h in range(4)), "a per-head module must give its head's slice")
k = AttentionDropout("renorm", 0.5, n_head=4)(wei).sum(-1)

# the C library's masks (ad_attention_masks, what the module uses where libattndrop loads) are the pure
# PyTorch fallback's, bit for bit, for every scheme, causal and bidirectional, with a batch offset
from attndrop.torch import _c_masks  # noqa: E402
same = 0
for scheme in SCHEMES:
    for bidir in (False, True):
        c = _c_masks(scheme, 0.3, 99, 4, 2, 3, 20, 2, 5, bidir)
        same += torch.equal(c, attention_masks(scheme, 0.3, 99, 4, 2, 3, 20, 2, 5, bidir))
check(same == 2 * len(SCHEMES), f"ad_attention_masks equals attention_masks for {same} of {2 * len(SCHEMES)} cases")
# batch rows past 2^24 (a large row0): the stream's purpose byte survives in both
far = [s for s in ("standard", "nonzero", "token", "fcm")
       if torch.equal(_c_masks(s, 0.3, 99, 4, 2, 3, 20, 2, (1 << 24) - 1, False),
                      attention_masks(s, 0.3, 99, 4, 2, 3, 20, 2, (1 << 24) - 1, False))]
check(len(far) == 4, f"masks at row0 = 2^24 - 1 (rows past 2^24) equal the C library's for {far} only")

# the scheme table is the library's: schemes.py's names and where each acts are held to it
from attndrop.schemes import INPUT, PRE  # noqa: E402
table = lib.scheme_table()
check([n for n, _ in table] == SCHEMES, f"schemes.py's SCHEMES differ from the library's table {table}")
check({n for n, w in table if w == "pre"} == PRE and {n for n, w in table if w == "input"} == INPUT,
      f"schemes.py's PRE {PRE} or INPUT {INPUT} differ from the library's table {table}")
# and the hand-copied ctypes structs are held to the library's layout: one with a field too many is caught
check(lib._layout_mismatch(lib.library()) is None, f"lib.py's structs: {lib._layout_mismatch(lib.library())}")


class _SiteAndMore(ctypes.Structure):
    _fields_ = lib._Site._fields_ + [("extra", ctypes.c_int)]


lib._LAYOUTS[_SiteAndMore] = "ad_drop_site"
bad = lib._layout_mismatch(lib.library())
del lib._LAYOUTS[_SiteAndMore]
check(bad is not None and "ad_drop_site" in bad, f"a struct with an extra field was not caught: {bad}")

# generator mode (seed=None): nn.Dropout's RNG semantics
g = AttentionDropout("nonzero", 0.5, n_head=4)
torch.manual_seed(3)
a1, a2 = g(wei), g(wei)
torch.manual_seed(3)
check(torch.equal(g(wei), a1) and not torch.equal(a1, a2), "generator mode: manual_seed must govern, each call draw anew")
l0, l1 = AttentionDropout("standard", 0.5, n_head=4), AttentionDropout("standard", 0.5, n_head=4)
torch.manual_seed(4)
check(not torch.equal(l0(wei), l1(wei)), "generator mode: two layers without layer= must differ")
r0, r1 = (AttentionDropout("standard", 0.5, n_head=4, generator=torch.Generator().manual_seed(s)) for s in (1, 2))
check(not torch.equal(r0(wei), r1(wei)), "generator mode: two ranks' generators must give two masks")
import torch.utils.checkpoint  # noqa: E402
lin = torch.nn.Linear(6, 6)
mod = AttentionDropout("dropkey", 0.5, n_head=4)
gr = []
for use_cp in (False, True):
    lin.zero_grad()
    torch.manual_seed(7)
    f = lambda x: mod(torch.softmax(lin(x), -1)).sum()
    (torch.utils.checkpoint.checkpoint(f, wei, use_reentrant=False) if use_cp else f(wei)).backward()
    gr.append(lin.weight.grad.clone())
check(torch.equal(gr[0], gr[1]), "generator mode: checkpoint's recompute must draw the same masks")
# exact mode: the step is in the state_dict, so a resumed module continues the run's masks
e1 = AttentionDropout("standard", 0.5, n_head=4, seed=11)
for _ in range(3):
    e1(wei)
e2 = AttentionDropout("standard", 0.5, n_head=4, seed=11)
e2.load_state_dict(e1.state_dict())
check(e2.step == 3 and torch.equal(e1(wei), e2(wei)), f"exact mode: a resumed module at step {e2.step} must continue")
e3 = AttentionDropout("standard", 0.5, n_head=4, seed=11)
e3.load_state_dict({})  # a state_dict from before the step was saved still loads
check(e3.step == 0, "an old state_dict without the step must load")
check(bool(((k - 1).abs() < 1e-5).logical_or(k == 0).all()), "pre-softmax rows must sum to 1 (or 0 with no survivor)")
for bad_args, what in ((("bogus", 0.2), "unknown scheme"), (("standard", 1.0), "p = 1")):
    try:
        AttentionDropout(*bad_args)
        check(False, f"{what} must raise")
    except ValueError:
        check(True, what)
if torch.cuda.is_available():
    mc = attention_masks("nonzero", 0.3, 1, 2, 0, 4, 32, 8, device="cuda").cpu()
    check(torch.equal(mc, attention_masks("nonzero", 0.3, 1, 2, 0, 4, 32, 8)), "masks on CUDA must equal the CPU's")
else:
    print("SKIP: masks on CUDA (no GPU)")

# the C library from Python
st = lib.stats("standard", 0.5, block_size=4, n_head=2, n_layer=2, trials=2000)
check(np.allclose(st["p_zero_exact"], 0.5 ** np.arange(1, 5)), f"stats: p_zero_exact {st['p_zero_exact']}")
for kwargs, needle in (({"p": 1.5}, "p must be in [0, 1)"), ({"block_size": 0}, "block_size"), ({"scheme": "bogus"}, "unknown scheme")):
    try:
        lib.stats(**kwargs)
        check(False, f"stats({kwargs}) must raise")
    except lib.AttndropError as e:
        check(needle in str(e), f"stats({kwargs}): '{e}' does not say '{needle}'")
try:
    lib.Model(os.path.join(tmp, "none.safetensors"))
    check(False, "loading a missing checkpoint must raise")
except lib.AttndropError as e:
    check("cannot open" in str(e), f"missing checkpoint: {e}")
cm = lib.Model(os.path.join(tmp, "standard", "model.safetensors"), batch=4, training=True)
text = cm.sample("ab", 30, seed=3)
r = subprocess.run([attndrop_bin, "sample", "--ckpt", os.path.join(tmp, "standard", "model.safetensors"), "--prompt", "ab",
                    "--max-new-tokens", "30", "--seed", "3"], capture_output=True, text=True)
check(text + "\n" == r.stdout, f"sample: '{text}' differs from attndrop sample's '{r.stdout.strip()}'")
try:
    cm.sample("\u00e9", 5)
    check(False, "a prompt outside the vocabulary must raise")
except lib.AttndropError as e:
    check("characters of the training text" in str(e), f"bad prompt: {e}")
l0 = cm.train_step(x[:, :12] % cm.config["vocab_size"], y[:, :12] % cm.config["vocab_size"], step=0)
check(np.isfinite(l0), f"train_step loss {l0}")
dm = lib.demo("standard", 0.5)
r = subprocess.run([attndrop_bin, "demo", "--format", "json"], capture_output=True, text=True)
cj = json.loads(r.stdout)
check(np.allclose(dm["after_dropout"], cj["after_dropout"], rtol=1e-8, atol=1e-12) and dm["zero_rows"] == cj["zero_rows"],
      "demo differs from attndrop demo")
tally.finish()
