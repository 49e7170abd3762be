"""The C library from Python: ctypes over libattndrop.so (built by `make`),
for the schemes' statistics, the source's toy, masks drawn by the C code, and
a model's training step on a checkpoint. Every failure raises AttndropError
with the library's own message.
"""
import ctypes
import os

import numpy as np

from .schemes import SCHEMES


class AttndropError(Exception):
    """A status other than AD_OK, with the library's one-line message."""


class _Error(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("msg", ctypes.c_char * 512)]


class _Site(ctypes.Structure):
    _fields_ = [("scheme", ctypes.c_int), ("p", ctypes.c_float), ("seed", ctypes.c_uint64), ("step", ctypes.c_uint32),
                ("layer", ctypes.c_int), ("n_head", ctypes.c_int), ("block_size", ctypes.c_int),
                ("bidirectional", ctypes.c_int), ("row0", ctypes.c_int)]


class _StatsOpts(ctypes.Structure):
    _fields_ = [("scheme", ctypes.c_int), ("p", ctypes.c_float), ("block_size", ctypes.c_int), ("n_head", ctypes.c_int),
                ("n_layer", ctypes.c_int), ("trials", ctypes.c_long), ("seed", ctypes.c_uint64),
                ("bidirectional", ctypes.c_int), ("logit_std", ctypes.c_double)]


_D = ctypes.POINTER(ctypes.c_double)


class _Stats(ctypes.Structure):
    _fields_ = [("T", ctypes.c_int)] + [(n, _D) for n in (
        "p_zero_exact", "p_zero_mc", "p_allheads_zero_exact", "p_allheads_zero_mc", "row_sum_mean_exact",
        "row_sum_mean_mc", "row_sum_var_exact", "row_sum_var_mc", "bias_mc")] + [(n, ctypes.c_double) for n in (
        "zero_rows_per_head", "zero_rows_per_head_mc", "zero_rows_per_layer", "zero_rows_per_model", "p_any_zero_output")]


def _find():
    env = os.environ.get("ATTNDROP_LIB")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (os.path.join(here, "..", "..", "build"), here):
        path = os.path.join(d, "libattndrop.so")
        if os.path.exists(path):
            return path
    return "libattndrop.so"


_lib = None


def library():
    """The loaded libattndrop.so: $ATTNDROP_LIB, else the source tree's build/, else the loader's search path."""
    global _lib
    if _lib is None:
        path = _find()
        # libgomp reads this as it loads (if torch has not loaded it already): idle threads spin
        # briefly, then sleep, instead of taking the cores from other processes (see cli/main.c).
        if "OMP_WAIT_POLICY" not in os.environ:
            os.environ.setdefault("GOMP_SPINCOUNT", "1000")
        try:
            _lib = ctypes.CDLL(path)
        except OSError as e:
            raise AttndropError(f"cannot load {path}: {e} (run `make` in the attndrop source tree, or set ATTNDROP_LIB)")
        _lib.ad_stats_compute.argtypes = [ctypes.POINTER(_Stats), ctypes.POINTER(_StatsOpts), ctypes.POINTER(_Error)]
        _lib.ad_stats_free.argtypes = [ctypes.POINTER(_Stats)]
        _lib.ad_drop_row.argtypes = [ctypes.POINTER(_Site), ctypes.c_int, ctypes.c_int, ctypes.c_int, _D, _D]
        _lib.ad_input_mult.argtypes = [ctypes.POINTER(_Site), ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.c_int,
                                       ctypes.POINTER(ctypes.c_float)]
        _lib.ad_input_mult.restype = ctypes.c_int
        _lib.ad_scheme_lookup.argtypes = [ctypes.c_char_p]
        _lib.ad_philox4x32.argtypes = [ctypes.POINTER(ctypes.c_uint32)] * 3
    return _lib


def _scheme_id(scheme):
    if scheme not in SCHEMES:
        raise AttndropError(f"unknown scheme '{scheme}' (known: {', '.join(SCHEMES)})")
    return SCHEMES.index(scheme)


def _check(status, err):
    if status != 0:
        raise AttndropError(err.msg.decode("utf-8", "replace"))


def philox(ctr, key):
    """Philox4x32-10 of four counter words and two key words, by the C library."""
    lib = library()
    c, k, o = (ctypes.c_uint32 * 4)(*ctr), (ctypes.c_uint32 * 2)(*key), (ctypes.c_uint32 * 4)()
    lib.ad_philox4x32(o, c, k)
    return list(o)


def stats(scheme="standard", p=0.5, block_size=8, n_head=4, n_layer=4, trials=100000, seed=1337,
          bidirectional=False, logit_std=1.0):
    """What a scheme does to attention rows (`attndrop stats`): a dict of numpy arrays (per position) and numbers."""
    lib = library()
    o = _StatsOpts(_scheme_id(scheme), p, block_size, n_head, n_layer, trials, seed, int(bidirectional), logit_std)
    st, err = _Stats(), _Error()
    _check(lib.ad_stats_compute(ctypes.byref(st), ctypes.byref(o), ctypes.byref(err)), err)
    try:
        out = {name: np.ctypeslib.as_array(getattr(st, name), shape=(st.T,)).copy() for name, _ in _Stats._fields_[1:10]}
        out.update({name: getattr(st, name) for name, _ in _Stats._fields_[10:]})
    finally:
        lib.ad_stats_free(ctypes.byref(st))
    return out


def drop_row(scheme, p, seed, step, layer, n_head, block_size, b, h, i, weights, bidirectional=False, row0=0):
    """One attention row after the scheme, as the C library computes it (ad_drop_row): weights (n,) float64."""
    lib = library()
    w = np.ascontiguousarray(weights, dtype=np.float64)
    out = np.zeros_like(w)
    site = _Site(_scheme_id(scheme), p, seed, step, layer, n_head, block_size, int(bidirectional), row0)
    lib.ad_drop_row(ctypes.byref(site), b, h, i, w.ctypes.data_as(_D), out.ctypes.data_as(_D))
    return out


def input_mask(scheme, p, seed, step, idx, b, row0=0):
    """word/embedding dropout's multipliers of one batch row's token ids (T,), by the C library."""
    lib = library()
    ids = np.ascontiguousarray(idx, dtype=np.int32)
    out = np.zeros(len(ids), dtype=np.float32)
    site = _Site(_scheme_id(scheme), p, seed, step, 0, 1, len(ids), 0, row0)
    lib.ad_input_mult(ctypes.byref(site), b, ids.ctypes.data_as(ctypes.POINTER(ctypes.c_int)), len(ids),
                      out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
    return out


class _Vocab(ctypes.Structure):
    _fields_ = [("size", ctypes.c_int), ("chars", ctypes.POINTER(ctypes.c_uint32))]


class _TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 96), ("ndim", ctypes.c_int), ("shape", ctypes.c_int * 2),
                ("offset", ctypes.c_size_t)]


class _Config(ctypes.Structure):
    _fields_ = [("vocab_size", ctypes.c_int), ("block_size", ctypes.c_int), ("n_embd", ctypes.c_int),
                ("n_head", ctypes.c_int), ("n_layer", ctypes.c_int), ("dropout", ctypes.c_float),
                ("scheme", ctypes.c_int), ("attn_dropout", ctypes.c_float), ("schedule", ctypes.c_int)]


class _AdamW(ctypes.Structure):
    _fields_ = [(n, ctypes.c_float) for n in ("lr", "beta1", "beta2", "eps", "weight_decay")]


class _SampleOpts(ctypes.Structure):
    _fields_ = [("temperature", ctypes.c_float), ("top_k", ctypes.c_int), ("seed", ctypes.c_uint64),
                ("recompute", ctypes.c_int)]


_I = ctypes.POINTER(ctypes.c_int)
_F = ctypes.POINTER(ctypes.c_float)


def _bind_model(lib):
    if getattr(lib, "_model_bound", False):
        return
    P = ctypes.c_void_p
    lib.ad_checkpoint_load.argtypes = [ctypes.POINTER(P), ctypes.POINTER(_Vocab), ctypes.c_char_p, ctypes.c_int,
                                       ctypes.c_int, ctypes.POINTER(_Error)]
    lib.ad_model_free.argtypes = [P]
    lib.ad_vocab_free.argtypes = [ctypes.POINTER(_Vocab)]
    lib.ad_model_config.argtypes = [P]
    lib.ad_model_config.restype = ctypes.POINTER(_Config)
    lib.ad_model_forward.argtypes = [P, _I, _I, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_uint64,
                                     ctypes.c_uint64, _F, ctypes.POINTER(_Error)]
    lib.ad_model_backward.argtypes = [P]
    for f in ("ad_model_grads", "ad_model_params"):
        getattr(lib, f).argtypes = [P]
        getattr(lib, f).restype = _F
    lib.ad_model_logits.argtypes = [P]
    lib.ad_model_logits.restype = _F
    lib.ad_model_num_params.argtypes = [P]
    lib.ad_model_num_params.restype = ctypes.c_size_t
    lib.ad_model_num_tensors.argtypes = [P]
    lib.ad_model_tensor.argtypes = [P, ctypes.c_int]
    lib.ad_model_tensor.restype = ctypes.POINTER(_TensorInfo)
    lib.ad_adamw_default.restype = _AdamW
    lib.ad_model_adamw_step.argtypes = [P, ctypes.POINTER(_AdamW), ctypes.c_long]
    lib.ad_model_check_grads.argtypes = [P, ctypes.POINTER(_Error)]
    lib.ad_generate.argtypes = [P, _I, ctypes.c_int, ctypes.c_int, ctypes.POINTER(_SampleOpts), _I, ctypes.POINTER(_Error)]
    lib._model_bound = True


class Model:
    """A checkpoint loaded by the C library, to evaluate, train or sample from Python.

    m = Model("out/model.safetensors", batch=8, training=True)
    loss = m.train_step(x, y, step, seed=1337)     # x, y (B, T) int arrays of token ids
    text = m.sample("ROMEO:", 200)
    """

    def __init__(self, path, batch=1, training=False):
        lib = library()
        _bind_model(lib)
        self._lib, self._m, self._v = lib, ctypes.c_void_p(), _Vocab()
        err = _Error()
        _check(lib.ad_checkpoint_load(ctypes.byref(self._m), ctypes.byref(self._v), str(path).encode(), batch,
                                      int(training), ctypes.byref(err)), err)
        c = lib.ad_model_config(self._m).contents
        self.config = {f: getattr(c, f) for f, _ in _Config._fields_}
        self.config["scheme"] = SCHEMES[c.scheme]
        self.vocab = "".join(chr(self._v.chars[k]) for k in range(self._v.size))
        self.batch, self.training, self._t = batch, training, 0
        self.adamw = lib.ad_adamw_default()

    def __del__(self):
        if getattr(self, "_m", None):
            self._lib.ad_model_free(self._m)
            self._lib.ad_vocab_free(ctypes.byref(self._v))
            self._m = None

    def _ids(self, a):
        a = np.ascontiguousarray(a, dtype=np.int32)
        if a.ndim != 2 or a.shape[0] > self.batch or a.shape[1] > self.config["block_size"]:
            raise AttndropError(f"ids must be (B <= {self.batch}, T <= {self.config['block_size']}), got {a.shape}")
        return a

    def forward(self, x, y=None, train=False, seed=1337, step=0):
        """The mean loss of x (B, T) against y (None without targets); logits() then holds (B, T, V)."""
        x = self._ids(x)
        yy = self._ids(y) if y is not None else None
        loss, err = ctypes.c_float(), _Error()
        _check(self._lib.ad_model_forward(self._m, x.ctypes.data_as(_I), yy.ctypes.data_as(_I) if yy is not None else None,
                                          x.shape[0], x.shape[1], int(train), seed, step, ctypes.byref(loss),
                                          ctypes.byref(err)), err)
        self._shape = x.shape
        return float(loss.value) if yy is not None else None

    def logits(self):
        B, T = self._shape
        return np.ctypeslib.as_array(self._lib.ad_model_logits(self._m), shape=(B, T, self.config["vocab_size"])).copy()

    def backward(self):
        """The gradients of the last forward (which had targets), by gpt.py's tensor names."""
        if not self.training:
            raise AttndropError("the model was loaded without training=True")
        self._lib.ad_model_backward(self._m)
        return self._tensors(self._lib.ad_model_grads(self._m))

    def params(self):
        return self._tensors(self._lib.ad_model_params(self._m))

    def _tensors(self, base):
        flat = np.ctypeslib.as_array(base, shape=(self._lib.ad_model_num_params(self._m),))
        out = {}
        for k in range(self._lib.ad_model_num_tensors(self._m)):
            t = self._lib.ad_model_tensor(self._m, k).contents
            shape = tuple(t.shape[:t.ndim])
            n = int(np.prod(shape))
            out[t.name.decode()] = flat[t.offset:t.offset + n].reshape(shape).copy()
        return out

    def train_step(self, x, y, step, seed=1337):
        """One AdamW step (gpt.py's loop body, dropout on): returns the batch's loss."""
        loss = self.forward(x, y, train=True, seed=seed, step=step)
        self.backward()
        err = _Error()
        _check(self._lib.ad_model_check_grads(self._m, ctypes.byref(err)), err)
        self._t += 1
        self._lib.ad_model_adamw_step(self._m, ctypes.byref(self.adamw), self._t)
        return loss

    def sample(self, prompt="", n=200, temperature=1.0, top_k=0, seed=1337):
        """Text generated after prompt (token 0 if empty), prompt included, as `attndrop sample` writes it."""
        try:
            ctx = [self.vocab.index(ch) for ch in prompt] or [0]
        except ValueError:
            raise AttndropError("the prompt may only use characters of the training text")
        out = (ctypes.c_int * (len(ctx) + n))()
        so, err = _SampleOpts(temperature, top_k, seed, 0), _Error()
        _check(self._lib.ad_generate(self._m, (ctypes.c_int * len(ctx))(*ctx), len(ctx), n, ctypes.byref(so), out,
                                     ctypes.byref(err)), err)
        return "".join(self.vocab[k] for k in out)


def demo(scheme="standard", p=0.5, block_size=4, seed=1367149, dim=10):
    """The source's toy (`attndrop demo`): random causal similarities, the scheme's dropout, times random
    values; returns the four matrices and the rows that came out all zero."""
    from . import philox as ph
    import torch
    T = block_size
    r, rv = ph.Stream(seed, ph.TEST, 0, 0, 0), ph.Stream(seed, ph.TEST, 1, 0, 0)
    k = torch.arange(T * T)
    sim = np.where((k % T <= k // T).numpy(), r.uniform(k).numpy(), 0.0).reshape(T, T)
    val = rv.uniform(torch.arange(T * dim)).numpy().reshape(T, dim)
    drop = np.zeros((T, T))
    for i in range(T):
        drop[i, :i + 1] = drop_row(scheme, p, seed, 0, 0, 1, T, 0, 0, i, sim[i, :i + 1])
    prod = drop @ val
    return {"similarities": sim, "after_dropout": drop, "values": val, "product": prod,
            "zero_rows": [i for i in range(T) if not prod[i].any()]}
