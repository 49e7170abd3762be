"""test_python_robust.py BUILD ATTNDROP - the Python package's boundary: every bad argument, misuse and hostile
file raises attndrop.lib.AttndropError with a one-line message, never crashes or hangs the interpreter, never
lets C read memory the caller did not pass, never casts silently. The ctypes layer (lib: shapes, dtypes and
ranges checked before a pointer crosses, the library bound whole or not at all), gpt.py's checkpoints (an
atomic save; a loader that refuses every hostile file the C loader refuses, each file tried on both, and
reads only regular files) and the torch modules (exact shapes, their arguments checked in __init__, NaN kept
visible by renorm). Cases that crashed or hung the interpreter before their fix run in a child process, so
that a regression is reported, not fatal. Prints "python-robust: N passed, M failed"."""
import ctypes
import ctypes.util
import errno
import json
import math
import os
import resource
import shutil
import struct
import threading
import subprocess
import sys
import tempfile

import pycheck

here = pycheck.here
build, attndrop_bin = pycheck.setup()
CHILD = sys.argv[3:4] == ["--child"]

import numpy as np  # noqa: E402
import torch  # noqa: E402

from attndrop import gpt, lib  # noqa: E402
from attndrop.schemes import attention_masks  # noqa: E402
from attndrop.torch import AttentionDropout, ExactDropout, set_step  # noqa: E402

tally = pycheck.Tally("python-robust", verbose=bool(os.environ.get("ROBUST_VERBOSE")))
check = tally.check


def refused(what, fn, needle=None):
    """fn() must raise lib.AttndropError (also a ValueError) with a one-line message (containing needle)."""
    try:
        fn()
    except lib.AttndropError as e:
        msg = str(e)
        if not isinstance(e, ValueError):
            check(False, f"{what}: AttndropError must also be a ValueError")
        else:
            ok = "\n" not in msg and msg.strip() != "" and (needle is None or needle in msg)
            check(ok, f"{what}: the message '{msg}' is not one line{' saying ' + repr(needle) if needle else ''}")
        return
    except BaseException as e:  # noqa: BLE001 - anything else is the failure under test
        check(False, f"{what}: raised {type(e).__name__} ({str(e)[:200]}), not AttndropError")
        return
    check(False, f"{what}: accepted")


# ------------------------------------------------------------------ a tiny checkpoint, and the files made of it

tmp = os.environ.get("ROBUST_TMP") or tempfile.mkdtemp(prefix="attndrop-robust-")
run_dir = os.path.join(tmp, "run")
good_path = os.path.join(run_dir, "model.safetensors")
if not CHILD:
    r = subprocess.run([attndrop_bin, "train", "--batch-size", "4", "--block-size", "8", "--n-embd", "16", "--n-head",
                        "2", "--n-layer", "1", "--max-iters", "2", "--eval-interval", "1", "--eval-iters", "1",
                        "--threads", "1", "--out", run_dir], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL: attndrop train: {r.stderr}", file=sys.stderr)
        print("python-robust: 0 passed, 1 failed")
        sys.exit(1)
with open(good_path, "rb") as f:
    GOOD = f.read()


def split(buf):
    """(header as an ordered dict, data bytes) of a safetensors file."""
    (n,) = struct.unpack("<Q", buf[:8])
    return json.loads(buf[8:8 + n].decode()), buf[8 + n:]


def join(header, data):
    """A safetensors file of a header (a dict, or JSON text as it is) and data."""
    h = (header if isinstance(header, str) else json.dumps(header)).encode("utf-8", "surrogatepass")
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def tensors_of(buf):
    """name -> [dtype, shape, raw bytes] of a file, in its order."""
    header, data = split(buf)
    out = {}
    for k, v in header.items():
        if k != "__metadata__":
            b0, b1 = v["data_offsets"]
            out[k] = [v["dtype"], list(v["shape"]), data[b0:b1]]
    return header.get("__metadata__", {}), out


def build_file(meta, tensors):
    """A well-formed safetensors file of metadata and tensors (name -> [dtype, shape, bytes])."""
    header, blobs, off = {"__metadata__": meta} if meta is not None else {}, [], 0
    for k, (dt, shape, raw) in tensors.items():
        header[k] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    return join(header, b"".join(blobs))


GOOD_META, GOOD_TENSORS = tensors_of(GOOD)
GOOD_CFG = json.loads(GOOD_META["config"])


def with_meta(**kv):
    meta = dict(GOOD_META)
    for k, v in kv.items():
        if v is None:
            meta.pop(k, None)
        else:
            meta[k] = v
    return build_file(meta, GOOD_TENSORS)


def with_config(drop=(), raw=None, **kv):
    cfg = dict(GOOD_CFG)
    cfg.update(kv)
    for k in drop:
        cfg.pop(k)
    return with_meta(config=raw if raw is not None else json.dumps(cfg))


def with_tensors(fn):
    t = {k: list(v) for k, v in GOOD_TENSORS.items()}
    fn(t)
    return build_file(GOOD_META, t)


def set_float(buf, index_from_end, value):
    b = bytearray(buf)
    b[len(b) - 4 * index_from_end:len(b) - 4 * index_from_end + 4] = struct.pack("<f", value)
    return bytes(b)


def write(name, content):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(content)
    return path


def both_refuse(what, content):
    """A hostile checkpoint: refused by the C loader (lib.Model) and by gpt.load_checkpoint, both with AttndropError."""
    path = write("hostile.safetensors", content)
    refused(f"{what}: lib.Model", lambda: lib.Model(path))
    refused(f"{what}: gpt.load_checkpoint", lambda: gpt.load_checkpoint(path))
    refused(f"{what}: gpt.load_checkpoint(exact_masks)", lambda: gpt.load_checkpoint(path, exact_masks=True))


def both_accept(what, content):
    path = write("fine.safetensors", content)
    try:
        cm = lib.Model(path)
        model, vocab = gpt.load_checkpoint(path)
        ok = vocab == cm.vocab and all(np.array_equal(v.detach().numpy(), cm.params()[k])
                                       for k, v in model.state_dict().items() if not k.endswith(".tril"))
        check(ok, f"{what}: the two loaders disagree on the weights or the vocabulary")
    except Exception as e:  # noqa: BLE001
        check(False, f"{what}: refused: {type(e).__name__}: {e}")


# ------------------------------------------------------------------ cases run in a child process
# (before their fix each of these aborted, crashed or hung the interpreter, or called the C functions whose
# signatures changed: a child keeps a regression from taking the whole test down with it)

def _model(training=True, batch=2):
    return lib.Model(good_path, batch=batch, training=training)


def _ids(B=2, T=8, seed=0):
    return np.random.default_rng(seed).integers(0, GOOD_CFG["vocab_size"], (B, T))


def c_forward_empty_batch():
    refused("forward with an empty batch (B = 0)", lambda: _model().forward(np.zeros((0, 8), np.int64)))


def c_forward_T0():
    refused("forward with T = 0", lambda: _model().forward(np.zeros((2, 0), np.int64)))


def c_backward_without_forward():
    refused("backward with no forward", lambda: _model().backward(), "forward")


def c_backward_after_forward_without_targets():
    m = _model()
    m.forward(_ids(), train=True)
    refused("backward after a forward without targets", m.backward, "targets")


def c_backward_twice():
    m = _model()
    x = _ids()
    m.forward(x, np.roll(x, -1, 1), train=True)
    g = m.backward()
    check(set(g) == set(m.params()), "backward after a forward with targets returns every gradient")
    refused("a second backward of one forward", m.backward)


def c_train_step_ok():
    m = _model()
    x = _ids()
    loss = m.train_step(x, np.roll(x, -1, 1), step=0)
    loss2 = m.train_step(x, np.roll(x, -1, 1), step=1)
    check(np.isfinite(loss) and np.isfinite(loss2) and m._t == 2, f"train_step: losses {loss}, {loss2}")


def c_demo_p1():
    refused("demo(p=1)", lambda: lib.demo("standard", 1.0), "p")


def c_demo_bad():
    for kw, what in (({"p": -0.1}, "p = -0.1"), ({"p": float("nan")}, "p = NaN"), ({"p": 0.99999999}, "p = 1 as a float"),
                     ({"block_size": 0}, "block_size 0"), ({"block_size": -1}, "block_size -1"),
                     ({"block_size": 1000}, "block_size 1000"), ({"dim": 0}, "dim 0"), ({"seed": -1}, "seed -1"),
                     ({"scheme": "bogus"}, "an unknown scheme"), ({"block_size": 4.0}, "block_size 4.0")):
        refused(f"demo({what})", lambda kw=kw: lib.demo(**kw))
    d = lib.demo("nonzero", 0.5, block_size=6)
    check(d["after_dropout"].shape == (6, 6), "demo of a valid scheme still works")


def c_drop_row_past_weights():
    refused("drop_row with a row index past the weights", lambda: lib.drop_row(
        "standard", 0.5, 1, 0, 0, 1, 8, 0, 0, 5000, np.ones(3)), "i")


def c_drop_row_short_weights():
    refused("drop_row with fewer weights than the row (i = 6: 7 weights)",
            lambda: lib.drop_row("standard", 0.5, 1, 0, 0, 2, 8, 0, 0, 6, np.ones(3)), "7")
    refused("drop_row with more weights than the row",
            lambda: lib.drop_row("standard", 0.5, 1, 0, 0, 2, 8, 0, 0, 2, np.ones(8)), "3")
    refused("drop_row bidirectional with i + 1 weights (needs block_size)",
            lambda: lib.drop_row("standard", 0.5, 1, 0, 0, 2, 8, 0, 0, 2, np.ones(3), bidirectional=True), "8")
    refused("drop_row with 2-D weights", lambda: lib.drop_row("standard", 0.5, 1, 0, 0, 2, 8, 0, 0, 1, np.ones((1, 2))))


def c_drop_row_args():
    w = np.ones(3)
    base = dict(scheme="standard", p=0.5, seed=1, step=0, layer=0, n_head=2, block_size=8, b=0, h=0, i=2, weights=w)
    for kw, what in (({"p": 1.0}, "p = 1"), ({"p": -0.5}, "p < 0"), ({"p": float("nan")}, "p NaN"),
                     ({"weights": np.ones(3, np.int64)}, "integer weights"),
                     ({"weights": np.array([True, True, False])}, "bool weights"),
                     ({"weights": ["a", "b", "c"]}, "string weights"), ({"i": -1}, "i = -1"),
                     ({"i": 8, "weights": np.ones(9)}, "i = block_size"), ({"h": 2}, "h = n_head"), ({"h": -1}, "h < 0"),
                     ({"b": -1}, "b < 0"), ({"b": 2**31}, "b beyond int"), ({"block_size": 2**32 + 8}, "block_size 2^32+8"),
                     ({"n_head": 0}, "n_head 0"), ({"seed": 2**64}, "seed 2^64"), ({"seed": -1}, "seed -1"),
                     ({"step": 2**32}, "step 2^32 (a 32-bit field)"), ({"layer": -1}, "layer -1"), ({"i": 2.0}, "i 2.0"),
                     ({"scheme": 3}, "a scheme that is not a name")):
        kwargs = dict(base, **kw)
        refused(f"drop_row({what})", lambda kwargs=kwargs: lib.drop_row(**kwargs))
    refused("drop_row(row0 < 0)", lambda: lib.drop_row(**base, row0=-1))
    # what is valid still works, and equals the package's masks
    out = lib.drop_row("nonzero", 0.5, 7, 3, 1, 2, 8, 1, 1, 5, np.ones(6))
    m = attention_masks("nonzero", 0.5, 7, 3, 1, 2, 8, 2).numpy()
    check(np.array_equal(out.astype(np.float32), m[1, 1, 5, :6]), "drop_row of valid arguments equals the masks")
    out = lib.drop_row("standard", 0.5, 7, 3, 1, 2, 8, 1, 1, 5, np.ones(6, np.float32))
    check(out.dtype == np.float64 and out.shape == (6,), "drop_row takes float32 weights")


def c_input_mask():
    for ids, what in ((np.array([1.7, 2.2, 3.9]), "float ids"), (np.array([True, False]), "bool ids"),
                      (np.array([1, 2**40]), "an id of 2^40"), (np.array([1, -1]), "a negative id"),
                      (np.zeros((2, 3), np.int64), "2-D ids"), (np.zeros(0, np.int64), "no ids"), ("abc", "a string")):
        refused(f"input_mask({what})", lambda ids=ids: lib.input_mask("embedding", 0.5, 1, 0, ids, 0))
    refused("input_mask(b < 0)", lambda: lib.input_mask("word", 0.5, 1, 0, [1, 2], -1))
    refused("input_mask(p = 1)", lambda: lib.input_mask("word", 1.0, 1, 0, [1, 2], 0))
    refused("input_mask(step 2^32)", lambda: lib.input_mask("word", 0.5, 1, 2**32, [1, 2], 0))
    from attndrop.schemes import input_multipliers
    idx = np.array([[3, 1, 4, 1, 5]])
    want = input_multipliers("embedding", 0.5, 9, 2, torch.tensor(idx)).numpy()[0]
    check(np.array_equal(lib.input_mask("embedding", 0.5, 9, 2, idx[0], 0), want), "input_mask of valid ids")
    check(np.array_equal(lib.input_mask("standard", 0.5, 9, 2, idx[0], 0), np.ones(5, np.float32)),
          "input_mask of a scheme that is not input-level: ones")


def c_renorm_zero_row_as_c():
    """renorm: a row with no survivor is 0 as in the C library; an ordinary row equals ad_drop_row's."""
    T, H = 6, 2
    wei = torch.softmax(torch.randn(1, H, T, T).masked_fill(torch.triu(torch.ones(T, T), 1).bool(), float("-inf")), -1)
    wei = wei.to(torch.float64)
    wei[0, 0, 3] = 0.0  # a legitimately all-zero row
    d = AttentionDropout("renorm", 0.5, n_head=H, seed=5)
    out = d(wei)
    bad = 0
    for h in range(H):
        for i in range(T):
            c = lib.drop_row("renorm", 0.5, 5, 0, 0, H, T, 0, h, i, wei[0, h, i, :i + 1].numpy())
            bad += not np.allclose(out[0, h, i, :i + 1].numpy(), c, rtol=1e-12, atol=1e-15)
    check(bad == 0, f"renorm: {bad} rows differ from the C library's ad_drop_row")
    check(bool((out[0, 0, 3] == 0).all()), "renorm: an all-zero row stays 0")


def c_fifo():
    fifo = os.path.join(tmp, "fifo.safetensors")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    refused("gpt.load_checkpoint of a FIFO", lambda: gpt.load_checkpoint(fifo), "not a regular file")
    refused("gpt.st_read of a FIFO", lambda: gpt.st_read(fifo), "not a regular file")
    refused("lib.Model of a FIFO", lambda: lib.Model(fifo), "not a regular file")


def c_dev_zero():
    link = os.path.join(tmp, "zero.safetensors")
    if not os.path.lexists(link):
        os.symlink("/dev/zero", link)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + (2 << 30), hard))  # a reader that reads forever stops here
    try:
        refused("gpt.load_checkpoint of a link to /dev/zero", lambda: gpt.load_checkpoint(link), "not a regular file")
        refused("gpt.st_read of a link to /dev/zero", lambda: gpt.st_read(link), "not a regular file")
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


CHILD_CASES = [f for name, f in sorted(globals().items()) if name.startswith("c_") and callable(f)]


def run_children():
    """Runs CHILD_CASES in child processes: one child for all of them, and a new one after a case that crashes or
    hangs (which fails)."""
    only = os.environ.get("ROBUST_ONLY")  # a comma-separated subset of the cases, to debug one
    pending = [f.__name__ for f in CHILD_CASES if not only or f.__name__ in only.split(",")]
    while pending:
        env = dict(os.environ, ROBUST_TMP=tmp, ROBUST_CASES=",".join(pending))
        try:
            r = subprocess.run([sys.executable, os.path.abspath(__file__), build, attndrop_bin, "--child"], env=env,
                               capture_output=True, text=True, timeout=60)
            out, err, rc = r.stdout, r.stderr, r.returncode
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
            rc = "a timeout (hung)"
        started, done = None, set()
        for line in out.splitlines():
            if line.startswith("START "):
                started = line.split()[1]
            elif line.startswith("DONE "):
                _, name, p, f = line.split()
                tally.passed += int(p)
                tally.failed += int(f)
                done.add(name)
        sys.stderr.write("".join(l + "\n" for l in err.splitlines() if l.startswith("FAIL")))
        if started is not None and started not in done:
            tally.failed += 1
            how = f"signal {-rc}" if isinstance(rc, int) and rc < 0 else f"exit {rc}" if isinstance(rc, int) else rc
            print(f"FAIL: {started}: the interpreter died ({how})", file=sys.stderr)
            done.add(started)
        elif not done:
            tally.failed += 1
            print(f"FAIL: the child process failed ({rc}): {err[-500:]}", file=sys.stderr)
            return
        pending = [p for p in pending if p not in done]


if CHILD:
    names = os.environ["ROBUST_CASES"].split(",")
    for f in CHILD_CASES:
        if f.__name__ in names:
            print("START", f.__name__, flush=True)
            p0, f0 = tally.passed, tally.failed
            try:
                f()
            except BaseException as e:  # noqa: BLE001
                check(False, f"{f.__name__}: {type(e).__name__}: {e}")
            print("DONE", f.__name__, tally.passed - p0, tally.failed - f0, flush=True)
    sys.exit(0)

run_children()

# ------------------------------------------------------------------ lib: the ctypes layer, in this process

V, BS = GOOD_CFG["vocab_size"], GOOD_CFG["block_size"]
m = lib.Model(good_path, batch=4, training=True)
x = np.random.default_rng(1).integers(0, V, (2, 8))

# targets: exactly the ids' shape; what lies past a view is never read
buf = np.zeros(64, np.int32)  # valid ids all the way: reading past the view would go unnoticed
refused("targets (2, 7) against ids (2, 8)", lambda: m.forward(x, buf[:14].reshape(2, 7)), "shape")
refused("targets (1, 8) viewing a larger array, against ids (4, 8)",
        lambda: m.forward(np.zeros((4, 8), np.int64), buf[:8].reshape(1, 8)), "shape")
refused("targets (2, 8) against ids (1, 8)", lambda: m.forward(x[:1], np.zeros((2, 8), np.int64)), "shape")
# integer arrays only, every value in [0, vocab_size) before the int32 cast
refused("float ids", lambda: m.forward(x + 0.7), "integer")
refused("float targets", lambda: m.forward(x, x.astype(np.float64)), "integer")
refused("bool ids", lambda: m.forward(x > 3), "integer")
refused("an id of 2^40 (0 once cast to int32)", lambda: m.forward(np.full((1, 4), 2**40)), str(2**40))
refused("a target of 2^32 + 1", lambda: m.forward(x, np.full((2, 8), 2**32 + 1)), str(2**32 + 1))
refused("a uint64 id of 2^63", lambda: m.forward(np.full((1, 2), 2**63, np.uint64)))
refused("ids of Python ints beyond int64", lambda: m.forward([[1, 2**70]]))
refused("ragged ids", lambda: m.forward([[1, 2], [3]]))
refused("1-D ids", lambda: m.forward(np.array([1, 2, 3])))
refused("seed 2^64", lambda: m.forward(x, seed=2**64))
refused("seed -1", lambda: m.forward(x, seed=-1))
refused("step -1", lambda: m.forward(x, step=-1))
refused("step 1.5", lambda: m.forward(x, step=1.5))
check(np.isfinite(m.forward(x, np.roll(x, -1, 1), seed=2**64 - 1, step=2**64 - 1)), "forward at the top of the ranges")

# Model(path, batch, training)
refused("Model(batch=2^32 + 1)", lambda: lib.Model(good_path, batch=2**32 + 1), "batch")
refused("Model(batch=0)", lambda: lib.Model(good_path, batch=0), "batch")
refused("Model(batch=2.0)", lambda: lib.Model(good_path, batch=2.0), "batch")
refused("Model(batch='2')", lambda: lib.Model(good_path, batch="2"), "batch")
refused("Model(training='no')", lambda: lib.Model(good_path, training="no"), "training")
refused("Model(path with a NUL byte)", lambda: lib.Model(good_path + "\0junk"), "NUL")
refused("Model(path 3)", lambda: lib.Model(3))
refused("logits() before any forward", lambda: lib.Model(good_path).logits(), "forward")

# stats: C-int, long and uint64 ranges in Python, the semantic bounds left to the library
refused("stats(block_size=2^32 + 4)", lambda: lib.stats(block_size=2**32 + 4, trials=100), "[1, 4096]")  # the valid range, not int's
refused("stats(n_head=2^32 + 2)", lambda: lib.stats(n_head=2**32 + 2, trials=100), "n_head")
refused("stats(n_layer=-2^32 + 1)", lambda: lib.stats(n_layer=-2**32 + 1, trials=100), "n_layer")
refused("stats(trials=2^64 + 100)", lambda: lib.stats(trials=2**64 + 100), "trials")
refused("stats(seed=-1)", lambda: lib.stats(seed=-1, trials=100), "seed")
refused("stats(p='0.5')", lambda: lib.stats(p="0.5", trials=100), "p")
refused("stats(logit_std='1')", lambda: lib.stats(logit_std="1", trials=100), "logit_std")
refused("stats(block_size=4.0)", lambda: lib.stats(block_size=4.0, trials=100), "block_size")
refused("stats(p=1.5): the library's message", lambda: lib.stats(p=1.5, trials=100), "p must be in [0, 1)")

# sample
cm = lib.Model(good_path)
refused("sample(n=1.5)", lambda: cm.sample("a", 1.5), "n")
refused("sample(n=2^31)", lambda: cm.sample("a", 2**31), "n")
refused("sample(top_k=2^32)", lambda: cm.sample("a", 3, top_k=2**32), "top_k")
refused("sample(seed=2^64)", lambda: cm.sample("a", 3, seed=2**64), "seed")
refused("sample(temperature='1')", lambda: cm.sample("a", 3, temperature="1"), "temperature")
refused("sample(temperature=inf)", lambda: cm.sample("a", 3, temperature=float("inf")), "temperature")
refused("sample(prompt=5)", lambda: cm.sample(5, 3), "prompt")
check(len(cm.sample("ab", 5, temperature=0.0, top_k=0, seed=2**64 - 1)) == 7, "sample at the edges of the ranges")

# philox: 32-bit words, never truncated
refused("philox of a counter word 2^33", lambda: lib.philox([2**33, 0, 0, 0], [0, 0]), "counter")
refused("philox of 5 counter words", lambda: lib.philox([0] * 5, [0, 0]))

# library(): bound whole or not at all
saved_lib, saved_env = lib._lib, os.environ["ATTNDROP_LIB"]
libm = ctypes.util.find_library("m") or "libm.so.6"
try:
    lib._lib = None
    os.environ["ATTNDROP_LIB"] = libm
    refused("library() of libm (no attndrop symbols)", lib.library, libm)
    refused("library() of libm, a second call (nothing half-bound kept)", lib.library, libm)
    check(lib._lib is None, "library(): nothing cached after a failed load")
    os.environ["ATTNDROP_LIB"] = os.path.join(tmp, "no-such-lib.so")
    refused("library() of a missing file", lib.library, "no-such-lib.so")
finally:
    lib._lib, os.environ["ATTNDROP_LIB"] = saved_lib, saved_env
check(lib.library() is saved_lib, "library() after the failed loads returns the good library")

# ------------------------------------------------------------------ gpt.py's model and set_step: bad arguments

good_cfg = dict(vocab_size=10, block_size=8, n_embd=12, n_head=3, n_layer=1, dropout=0.1)
for what, cfg, needle in [("n_head not dividing n_embd", dict(good_cfg, n_embd=10), "divisible"),
                          ("dropout 1.0", dict(good_cfg, dropout=1.0), "dropout"),
                          ("block_size 0", dict(good_cfg, block_size=0), "block_size"),
                          ("a config without n_layer", {k: v for k, v in good_cfg.items() if k != "n_layer"}, "n_layer"),
                          ("a config that is None", None, "dict")]:
    refused(f"GPTLanguageModel with {what}", lambda cfg=cfg: gpt.GPTLanguageModel(cfg), needle)
check(isinstance(gpt.GPTLanguageModel(good_cfg), torch.nn.Module), "GPTLanguageModel with a good config")
import attndrop.torch as adt  # noqa: E402
refused("set_step of None", lambda: adt.set_step(None, 3), "Module")

# ------------------------------------------------------------------ one Model from several threads

shared = lib.Model(good_path, batch=2)
V = shared.config["vocab_size"]
inputs = [np.array([[(i * 7 + t * (k + 1)) % V for t in range(8)] for i in range(2)]) for k in range(4)]
want = [shared.forward(x, x) for x in inputs]
got, failures = {}, []


def worker(k):
    try:
        for _ in range(60):
            loss = shared.forward(inputs[k], inputs[k])
            if loss != want[k]:
                got[k] = loss
    except Exception as e:  # noqa: BLE001
        failures.append(e)


threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
check(not failures and not got, f"one Model from 4 threads: losses {got} differ from {want}, errors {failures}")

# ------------------------------------------------------------------ gpt.py: the atomic save

model, vocab = gpt.load_checkpoint(good_path)
ck = os.path.join(tmp, "py.safetensors")
gpt.save_checkpoint(model, vocab, ck)
with open(ck, "rb") as f:
    before = f.read()
with torch.no_grad():
    model.lm_head.bias += 1.0  # a different model to save over the good file


def leftovers():
    return [n for n in os.listdir(tmp) if n.startswith("py.safetensors.") and n.endswith(".tmp")]


real_fsync = os.fsync


def failing_fsync(fd):
    raise OSError(errno.EIO, "Input/output error (simulated)")


os.fsync = failing_fsync
try:
    refused("save_checkpoint when fsync fails", lambda: gpt.save_checkpoint(model, vocab, ck), "intact")
finally:
    os.fsync = real_fsync
with open(ck, "rb") as f:
    check(f.read() == before, "save_checkpoint with a failing fsync: the previous checkpoint changed")
check(not leftovers(), f"save_checkpoint with a failing fsync: temporary files left: {leftovers()}")

soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) // 2, hard))  # a full disk, halfway through the file
try:
    refused("save_checkpoint on a full disk (RLIMIT_FSIZE)", lambda: gpt.save_checkpoint(model, vocab, ck), "intact")
finally:
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
with open(ck, "rb") as f:
    check(f.read() == before, "save_checkpoint on a full disk: the previous checkpoint changed")
check(not leftovers(), f"save_checkpoint on a full disk: temporary files left: {leftovers()}")
refused("save_checkpoint into a missing directory", lambda: gpt.save_checkpoint(model, vocab, os.path.join(tmp, "no", "x")))
gpt.save_checkpoint(model, vocab, ck)
check(lib.Model(ck).params()["lm_head.bias"][0] == model.lm_head.bias[0].item(), "the save that can succeed does")
with torch.no_grad():
    model.lm_head.bias[0] = float("nan")
refused("save_checkpoint of a NaN weight (the loaders refuse it)", lambda: gpt.save_checkpoint(model, vocab, ck), "NaN")
refused("save_checkpoint of a vocabulary of the wrong size", lambda: gpt.save_checkpoint(model, vocab[:-1], ck), "vocab")
# what would be written is checked after its conversion to float32, and against the config, before the good file is touched
with open(ck, "rb") as f:
    good_bytes = f.read()
m64, _ = gpt.load_checkpoint(ck)
m64 = m64.double()
with torch.no_grad():
    m64.lm_head.bias[0] = 1e300  # finite as float64, inf as float32
refused("save_checkpoint of a float64 weight that overflows float32", lambda: gpt.save_checkpoint(m64, vocab, ck), "NaN or Inf")
mcfg, _ = gpt.load_checkpoint(ck)
mcfg.cfg = dict(mcfg.cfg, n_embd=mcfg.cfg["n_embd"] * 2)
refused("save_checkpoint of a config that disagrees with the weights", lambda: gpt.save_checkpoint(mcfg, vocab, ck), "shape")
refused("save_checkpoint to a None path", lambda: gpt.save_checkpoint(m64, vocab, None), "path")
refused("save_checkpoint of something that is not the model", lambda: gpt.save_checkpoint(object(), vocab, ck), "model")
with open(ck, "rb") as f:
    check(f.read() == good_bytes, "a refused save_checkpoint changed the good file")
mbf, _ = gpt.load_checkpoint(ck)
gpt.save_checkpoint(mbf.to(torch.bfloat16), vocab, os.path.join(tmp, "bf16.safetensors"))
check(lib.Model(os.path.join(tmp, "bf16.safetensors")).params()["lm_head.bias"].shape[0] == len(vocab),
      "a bfloat16 model saved as float32 loads")
mex, _ = gpt.load_checkpoint(ck, exact_masks=True)
gpt.save_checkpoint(mex, vocab, os.path.join(tmp, "exact.safetensors"))
mre, _ = gpt.load_checkpoint(os.path.join(tmp, "exact.safetensors"))
check(sorted(mre.state_dict()) == sorted(mbf.state_dict()) and
      lib.Model(os.path.join(tmp, "exact.safetensors")).params()["lm_head.bias"].shape[0] == len(vocab),
      "a model loaded with exact masks saves a checkpoint both loaders read (gpt.py's names only)")

# ------------------------------------------------------------------ gpt.py: what is not a regular file, and errors

refused("gpt.load_checkpoint of a directory", lambda: gpt.load_checkpoint(tmp), "not a regular file")
refused("gpt.load_checkpoint of a missing file", lambda: gpt.load_checkpoint(os.path.join(tmp, "none")), "cannot open")
refused("gpt.st_read of a file of 5 bytes", lambda: gpt.st_read(write("short", GOOD[:5])), "too short")
refused("gpt.st_read of a header of 2^62 bytes",
        lambda: gpt.st_read(write("long", struct.pack("<Q", 2**62) + b"{}")), "beyond the end")
refused("gpt.st_read of a BF16 tensor", lambda: gpt.st_read(write("bf16", join(
    {"a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4))), "BF16")
fixtures = sorted(os.path.join(here, "fixtures", n) for n in os.listdir(os.path.join(here, "fixtures"))
                  if n.endswith(".safetensors"))
try:
    check(all(gpt.st_read(p)[1] for p in fixtures), "st_read: a fixture has no metadata")
except Exception as e:  # noqa: BLE001
    check(False, f"st_read refuses a fixture: {e}")

# ------------------------------------------------------------------ hostile checkpoints: both loaders refuse each

cfg_json = GOOD_META["config"]
hostile = [
    ("truncated data", GOOD[:-3]),
    ("a file of 5 bytes", GOOD[:5]),
    ("an empty file", b""),
    ("a header length beyond the file", struct.pack("<Q", len(GOOD)) + GOOD[8:]),
    ("a header length of 2^63", struct.pack("<Q", 2**63) + GOOD[8:]),
    ("a header that is not JSON", join('{"a":', b"")),
    ("a header that is a JSON array", join("[1,2]", b"")),
    ("a header with trailing bytes", join(json.dumps(split(GOOD)[0]) + " x", split(GOOD)[1])),
    ("a NaN weight (the last)", set_float(GOOD, 1, float("nan"))),
    ("an Inf weight (in the middle)", set_float(GOOD, 300, float("inf"))),
    ("dropout 1.0", with_config(dropout=1.0)),
    ("dropout -0.1", with_config(dropout=-0.1)),
    ("dropout 0.99999999 (1 as a float)", with_config(dropout=0.99999999)),
    ("dropout 1e300 (infinite as a float)", with_config(dropout=1e300)),
    ("dropout NaN", with_config(raw=cfg_json.replace('"dropout":0.2', '"dropout":NaN'))),
    ("dropout a string", with_config(dropout="0.2")),
    ("dropout missing", with_config(drop=("dropout",))),
    ("attn_dropout 1.0", with_config(attn_dropout=1.0)),
    ("attn_dropout a string", with_config(attn_dropout="0.1")),
    ("an unknown scheme", with_config(attn_scheme="bogus")),
    ("a scheme that is not a string", with_config(attn_scheme=3)),
    ("an unknown dropout_schedule", with_config(dropout_schedule="cosine")),
    ("vocab_size 0", with_config(vocab_size=0)),
    ("vocab_size 5.5", with_config(vocab_size=5.5)),
    ("vocab_size a string", with_config(vocab_size="32")),
    ("vocab_size true", with_config(vocab_size=True)),
    ("vocab_size 2^32 + 32", with_config(vocab_size=2**32 + 32)),
    ("block_size 0", with_config(block_size=0)),
    ("block_size 9 (the tensors are of 8)", with_config(block_size=9)),
    ("block_size 7 (the tensors are of 8)", with_config(block_size=7)),
    ("n_head 3 (16 not divisible)", with_config(n_head=3)),
    ("n_head 1 (the heads' tensors are of 2)", with_config(n_head=1)),
    ("n_head 32 (above n_embd)", with_config(n_head=32)),
    ("n_layer 0", with_config(n_layer=0)),
    ("n_layer 2 (one layer in the file)", with_config(n_layer=2)),
    ("n_layer 2000", with_config(n_layer=2000)),
    ("n_embd 1e9", with_config(n_embd=10**9)),
    ("a config missing n_embd", with_config(drop=("n_embd",))),
    ("a config that is not JSON", with_config(raw="{vocab_size: 32")),
    ("a config that is a JSON list", with_config(raw="[32, 8]")),
    ("no config", with_meta(config=None)),
    ("a vocabulary that is not a string", with_meta(vocab=json.dumps(list(json.loads(GOOD_META["vocab"]))))),
    ("a vocabulary that is a number", with_meta(vocab="32")),
    ("a vocabulary that is not JSON", with_meta(vocab="abc")),
    ("a vocabulary one short", with_meta(vocab=json.dumps(json.loads(GOOD_META["vocab"])[:-1]))),
    ("a vocabulary unsorted", with_meta(vocab=json.dumps(json.loads(GOOD_META["vocab"])[::-1]))),
    ("a vocabulary with a repeated character",
     with_meta(vocab=json.dumps(json.loads(GOOD_META["vocab"])[:-1] + json.loads(GOOD_META["vocab"])[-2]))),
    ("a vocabulary with a lone surrogate", with_meta(vocab='"' + json.dumps(json.loads(GOOD_META["vocab"])[:-1])[1:-1]
                                                     + '\\ud800"')),
    ("no vocabulary", with_meta(vocab=None)),
    ("format missing", with_meta(format=None)),
    ("format another", with_meta(format="attndrop-train-state")),
    ("version 2", with_meta(version="2")),
    ("a metadata value that is not a string", join(json.dumps(split(with_meta())[0]).replace(
        '"version": "1"', '"version": 1'), split(with_meta())[1])),
    ("a missing tensor", with_tensors(lambda t: t.pop("ln_f.bias"))),
    ("an unexpected tensor", with_tensors(lambda t: t.update({"blocks.0.sa.heads.0.tril": ["F32", [8, 8], bytes(256)]}))),
    ("a tensor of dtype F64", with_tensors(lambda t: t.update({"ln_f.bias": ["F64", [8], t["ln_f.bias"][2]]}))),
    ("a tensor of dtype I32", with_tensors(lambda t: t.update({"ln_f.bias": ["I32", [16], t["ln_f.bias"][2]]}))),
    ("a 1-D tensor made 2-D", with_tensors(lambda t: t.update({"ln_f.bias": ["F32", [4, 4], t["ln_f.bias"][2]]}))),
    ("lm_head.weight transposed", with_tensors(lambda t: t.update({"lm_head.weight": ["F32", [16, 32], t["lm_head.weight"][2]]}))),
    ("a train state given as a checkpoint", open(os.path.join(run_dir, "train_state.safetensors"), "rb").read()),
]
header, data = split(GOOD)
names = [k for k in header if k != "__metadata__"]
first, second = names[0], names[1]


def edit(fn):
    h = json.loads(json.dumps(header))
    fn(h)
    return join(h, data)


def offsets(name, b0, b1):
    return edit(lambda h: h[name].update(data_offsets=[b0, b1]))


end0 = header[first]["data_offsets"][1]
hostile += [
    ("data_offsets outside the data", offsets(first, 0, len(data) + 4)),
    ("data_offsets reversed", offsets(first, end0, 0)),
    ("overlapping tensors", offsets(second, end0 - 4, end0 - 4 + (header[second]["data_offsets"][1] - end0))),
    ("data_offsets of one value", edit(lambda h: h[first].update(data_offsets=[0]))),
    ("a negative dimension", edit(lambda h: h[first].update(shape=[-32, -16]))),
    ("a dimension 1.5", edit(lambda h: h[first].update(shape=[1.5, 16]))),
    ("a dimension true", edit(lambda h: h[first].update(shape=[True, 16]))),
    ("an unknown dtype", edit(lambda h: h[first].update(dtype="Q7"))),
    ("a tensor that is not an object", edit(lambda h: h.update({first: 5}))),
    ("__metadata__ that is not an object", edit(lambda h: h.update(__metadata__=[1]))),
    ("a tensor named twice", join(json.dumps(header)[:-1] + ', "%s": %s}' % (first, json.dumps(header[first])), data)),
    ("a hole in the data", join(header, data + bytes(8))),
    ("9 dimensions", edit(lambda h: h[first].update(shape=[32, 16] + [1] * 7))),
]
# one reading of a header in both loaders: what cJSON alone would read otherwise than Python's json
hjson = json.dumps(header)
meta_nul = json.dumps(header).replace('"__metadata__": {', '"__metadata__": {"config\\u0000x": %s, ' % json.dumps(
    json.dumps(dict(GOOD_CFG, dropout=0.1))), 1)
hostile += [
    ("a metadata key with \\u0000 before config (C would read it as config)", join(meta_nul, data)),
    ("a metadata value with \\u0000", with_meta(note="a\0b")),
    ("a tensor name with \\u0000", join(hjson.replace('"%s"' % first, '"%s\\u0000x"' % first, 1), data)),
    ("a raw control character in a string", join(hjson.replace('"%s"' % first, '"%s\tx"' % first, 1), data)),
    ("an overlong UTF-8 form in a dtype", (lambda h: struct.pack("<Q", len(h)) + h + data)(
        hjson.encode().replace(b'"F32"', b'"F\xc0\xb32"', 1))),
    ("a UTF-8 surrogate in a metadata value", (lambda h: struct.pack("<Q", len(h)) + h + data)(
        hjson.encode().replace(b'"attndrop"', b'"attndrop\xed\xa0\x80"', 1))),
    ("a byte that is not UTF-8", (lambda h: struct.pack("<Q", len(h)) + h + data)(
        hjson.encode().replace(b'"attndrop"', b'"attndrop\xff"', 1))),
    ("a UTF-8 byte order mark before the header", (lambda h: struct.pack("<Q", len(h)) + h + data)(
        b"\xef\xbb\xbf" + hjson.encode())),
    ("a 998-deep array in a tensor entry", join(hjson.replace('"dtype"', '"deep": %s, "dtype"' % ("[" * 998 + "]" * 998), 1), data)),
    ("a 65-deep array in a tensor entry", join(hjson.replace('"dtype"', '"deep": %s, "dtype"' % ("[" * 63 + "]" * 63), 1), data)),
]
for what, content in hostile:
    both_refuse(what, content)
both_accept("a 64-deep array in a tensor entry (the deepest both read)",
            join(hjson.replace('"dtype"', '"deep": %s, "dtype"' % ("[" * 62 + "]" * 62), 1), data))
both_accept("an escaped backslash before u0000 (not a NUL)", with_meta(note="a\\u0000b"))
both_accept("non-ASCII UTF-8 in a metadata value", with_meta(note="\u00e9t\u00e9 \U0001F600"))

# the good file, and files the C loader accepts that differ from it, are accepted by both
both_accept("the checkpoint attndrop train wrote", GOOD)
both_accept("a config without the optional attention fields",
            with_config(drop=("attn_scheme", "attn_dropout", "dropout_schedule")))
both_accept("a config with integral floats and an extra key", with_config(vocab_size=32.0, foo="bar"))
both_accept("metadata without a version, with an extra key", with_meta(version=None, note="hello"))
both_accept("a config followed by other text (cJSON reads the first value)", with_config(raw=cfg_json + " trailing"))
both_accept("the tensors in another order", build_file(GOOD_META, dict(reversed(list(GOOD_TENSORS.items())))))
both_accept("a header padded with NULs", join(json.dumps(header) + "\0\0\0\0\0\0\0\0", data))

# ------------------------------------------------------------------ torch: exact shapes, arguments checked in __init__

B, H, T = 2, 4, 6
wei = torch.softmax(torch.randn(B, H, T, T), -1)
d = AttentionDropout("standard", 0.5, n_head=H)
for bad, what in ((wei[:, :, :1, :], "(B, H, 1, T)"), (wei[:, :1], "(B, 1, T, T) with n_head 4"), (wei[0, 0], "(T, T)"),
                  (torch.softmax(torch.randn(B, H, T, T + 1), -1), "(B, H, T, T + 1)"), (wei[:, 0], "(B, T, T) without head"),
                  (wei.unsqueeze(0), "5-D"), ((wei * 100).to(torch.int64), "integer weights"),
                  (torch.ones(1, 1, 1, 1).expand(1, H, 9000, 9000), "T = 9000")):
    refused(f"AttentionDropout on {what}", lambda bad=bad: d(bad))
d.eval()
refused("AttentionDropout in eval mode on (B, H, 1, T)", lambda: d(wei[:, :, :1, :]))
d.train()
check(d(wei).shape == wei.shape, "AttentionDropout on (B, n_head, T, T)")
dh = AttentionDropout("standard", 0.5, n_head=H, head=1)
check(dh(wei[:, 1]).shape == (B, T, T), "a per-head module on (B, T, T)")
refused("a per-head module on (B, T, T + 1)", lambda: dh(wei[:, 1, :, :T - 1]))
for kw, what in (({"n_head": 0}, "n_head 0"), ({"n_head": -2}, "n_head -2"), ({"n_head": 2.5}, "n_head 2.5"),
                 ({"n_head": "4"}, "n_head '4'"), ({"p": "0.5"}, "p '0.5'"), ({"p": 0.99999999}, "p 1 as a float"),
                 ({"p": float("nan")}, "p NaN"), ({"p": 1.0}, "p 1"), ({"p": -0.1}, "p -0.1"), ({"layer": -1}, "layer -1"),
                 ({"seed": -1}, "seed -1"), ({"seed": 2**64}, "seed 2^64"), ({"head": 1.0, "n_head": 2}, "head 1.0"),
                 ({"scheme": "bogus"}, "an unknown scheme")):
    refused(f"AttentionDropout({what})", lambda kw=kw: AttentionDropout(**kw))
for p in (1.5, -1, float("nan"), 1.0, "0.1"):
    refused(f"ExactDropout(p={p})", lambda p=p: ExactDropout(p, "resid"))
refused("ExactDropout(site='attn')", lambda: ExactDropout(0.1, "attn"))
refused("ExactDropout on a (B, C) input", lambda: ExactDropout(0.1, "ffn")(torch.ones(2, 3)))
de = AttentionDropout("standard", 0.5, n_head=H, seed=1)
refused("AttentionDropout at step 2^32 (the masks' counter is 32-bit)", lambda: setattr(de, "step", 2**32))
refused("set_step(2^32)", lambda: set_step(de, 2**32))
refused("token_multipliers of float ids", lambda: AttentionDropout("word", 0.5).token_multipliers(torch.ones(2, 3)))

# renorm: NaN in stays NaN out
for scheme in ("renorm", "dropkey", "fcm"):
    w = wei.clone()
    w[0, 1, 2, 3] = float("nan")
    out = AttentionDropout(scheme, 0.5, n_head=H, seed=3)(w)
    check(bool(torch.isnan(out[0, 1, 2]).all()), f"{scheme}: a NaN weight must leave its row NaN, got {out[0, 1, 2]}")
    check(bool(torch.isfinite(out[1]).all()), f"{scheme}: rows without a NaN stay finite")
w = wei.clone()
w[1, 0, 4] = float("inf")
out = AttentionDropout("renorm", 0.5, n_head=H, seed=3)(w)
check(bool(torch.isnan(out[1, 0, 4]).any()), "renorm: an Inf weight must not come out a clean row")

# every failure is both an AttndropError and a ValueError
try:
    AttentionDropout("bogus")
    check(False, "an unknown scheme must raise")
except ValueError as e:
    check(isinstance(e, lib.AttndropError), f"AttentionDropout('bogus') raised {type(e).__name__}, not AttndropError")

if not os.environ.get("ROBUST_TMP"):
    shutil.rmtree(tmp, ignore_errors=True)
tally.finish()
