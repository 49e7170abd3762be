"""The C library from Python: ctypes over libattndrop.so (built by `make`, or by `pip install ./python`), for
the schemes' statistics, the source's toy, masks drawn by the C code, and a model's training step on a
checkpoint. Every failure raises AttndropError with a one-line message: the library's own, or one saying which
argument was refused. Every argument is checked (type, shape, range) before a pointer or a number crosses into
C, so that nothing is cast silently and the C code never reads memory the caller did not pass.
"""
import ctypes
import functools
import math
import os
import struct
import threading

import numpy as np

from .errors import (INT_MAX, LONG_MAX, UINT32_MAX, UINT64_MAX, AttndropError, check_bool, check_float, check_int,
                     check_p, one_line)
from .schemes import SCHEMES

__all__ = ["AttndropError", "library", "philox", "stats", "drop_row", "input_mask", "demo", "Model"]


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
_I = ctypes.POINTER(ctypes.c_int)
_F = ctypes.POINTER(ctypes.c_float)
_E = ctypes.POINTER(_Error)
_P = ctypes.c_void_p
_LONG_MAX = min(LONG_MAX, 2 ** (8 * ctypes.sizeof(ctypes.c_long) - 1) - 1)

# the C library's limits that Python checks before a call (src/model/model.c's AD_MAX_BLOCK; `attndrop demo`'s)
MAX_BLOCK = 8192
MAX_HEADS = 4096    # as the C library's ad_drop_site_check
MAX_LAYER = 65535
DEMO_MAX_BLOCK = 64
DEMO_MAX_DIM = 4096


class _Stats(ctypes.Structure):
    _fields_ = [("T", ctypes.c_int)] + [(n, _D) for n in (
        "p_zero_exact", "p_zero_mc", "p_allheads_zero_exact", "p_allheads_zero_mc", "row_sum_mean_exact",
        "row_sum_mean_mc", "row_sum_var_exact", "row_sum_var_mc", "bias_mc")] + [(n, ctypes.c_double) for n in (
        "zero_rows_per_head", "zero_rows_per_head_mc", "zero_rows_per_layer", "zero_rows_per_model", "p_any_zero_output")]


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


class _View(ctypes.Structure):
    """ad_view: a (B, H, T, D) float tensor by its data pointer and strides in elements (D's is 1)."""
    _fields_ = [("data", ctypes.c_void_p), ("stride_b", ctypes.c_int64), ("stride_h", ctypes.c_int64),
                ("stride_t", ctypes.c_int64)]


class _SdpaShape(ctypes.Structure):
    """ad_sdpa_shape: the sizes, causality, dtype (0 float32, 1 float64) and scale of the general op."""
    _fields_ = [("B", ctypes.c_int), ("H", ctypes.c_int), ("H_kv", ctypes.c_int), ("T_q", ctypes.c_int),
                ("T_k", ctypes.c_int), ("D", ctypes.c_int), ("D_v", ctypes.c_int), ("causal", ctypes.c_int),
                ("dtype", ctypes.c_int), ("scale", ctypes.c_double)]


class _SdpaView(ctypes.Structure):
    """ad_sdpa_view: a (B, heads, rows, size) tensor of the op's dtype by its data pointer and strides."""
    _fields_ = [("data", ctypes.c_void_p), ("stride_b", ctypes.c_int64), ("stride_h", ctypes.c_int64),
                ("stride_t", ctypes.c_int64)]


class _SdpaMask(ctypes.Structure):
    """ad_sdpa_mask: an additive (B, H, T_q, T_k) mask by its four strides (0 broadcasts)."""
    _fields_ = [("data", ctypes.c_void_p), ("stride_b", ctypes.c_int64), ("stride_h", ctypes.c_int64),
                ("stride_q", ctypes.c_int64), ("stride_k", ctypes.c_int64)]


class _SchemeInfo(ctypes.Structure):
    """ad_scheme_info: one row of the library's scheme table."""
    _fields_ = [("name", ctypes.c_char_p), ("description", ctypes.c_char_p), ("where", ctypes.c_int),
                ("guarantee", ctypes.c_int), ("unbiased", ctypes.c_int), ("study", ctypes.c_uint),
                ("study_rank", ctypes.c_int), ("source", ctypes.c_char_p), ("note", ctypes.c_char_p)]


# each hand-copied struct and its C name: held to the library's own layout (ad_abi_layout) when it loads
_LAYOUTS = {_Error: "ad_error", _Site: "ad_drop_site", _StatsOpts: "ad_stats_opts", _Stats: "ad_stats",
            _Vocab: "ad_vocab", _TensorInfo: "ad_tensor_info", _Config: "ad_config", _AdamW: "ad_adamw",
            _SampleOpts: "ad_sample_opts", _View: "ad_view", _SchemeInfo: "ad_scheme_info",
            _SdpaShape: "ad_sdpa_shape", _SdpaView: "ad_sdpa_view", _SdpaMask: "ad_sdpa_mask"}


def _layout_mismatch(lib) -> "str | None":
    """What differs between the ctypes structs above and the loaded library's structs, or None."""
    lay = lib.ad_abi_layout
    for cls, cname in _LAYOUTS.items():
        size = lay(cname.encode(), None)
        if size != ctypes.sizeof(cls):
            return f"{cname} is {size} bytes in the library, {ctypes.sizeof(cls)} in lib.py's {cls.__name__}"
        if lib.ad_abi_fields(cname.encode()) != len(cls._fields_):
            return (f"{cname} has {lib.ad_abi_fields(cname.encode())} fields in the library, {len(cls._fields_)} in "
                    f"lib.py's {cls.__name__}")
        for fname, _ in cls._fields_:
            off, mine = lay(cname.encode(), fname.encode()), getattr(cls, fname).offset
            if off != mine:
                return f"{cname}.{fname} is at byte {off} in the library, {mine} in lib.py's {cls.__name__}"
    return None


_ATT_SIZES = [ctypes.c_int] * 4  # B, H, T, D
# every function used, with (restype, argtypes): bound all at once before the library is published
_SIGNATURES = {
    "ad_get_threads": (ctypes.c_int, []),
    "ad_attention_masks": (ctypes.c_int, [_P, ctypes.POINTER(_Site), ctypes.c_int, _E]),
    "ad_attention_scratch_floats": (ctypes.c_size_t, [ctypes.c_int, ctypes.c_int, ctypes.c_int]),
    "ad_attention_forward": (ctypes.c_int, [_View, _P, _View, _View, _View] + _ATT_SIZES +
                             [ctypes.c_float, ctypes.POINTER(_Site), _P, ctypes.c_size_t, _E]),
    "ad_attention_backward": (ctypes.c_int, [_View] * 7 + [_P] + _ATT_SIZES +
                              [ctypes.c_float, ctypes.POINTER(_Site), _P, ctypes.c_size_t, _E]),
    "ad_attention_cuda_scratch_bytes": (ctypes.c_size_t, [ctypes.POINTER(_Site)] + [ctypes.c_int] * 3),
    "ad_attention_forward_cuda": (ctypes.c_int, [_View, _P, _View, _View, _View] + _ATT_SIZES +
                                  [ctypes.c_float, ctypes.POINTER(_Site), _P, ctypes.c_size_t, _P, _E]),
    "ad_attention_backward_cuda": (ctypes.c_int, [_View] * 8 + [_P] + _ATT_SIZES +
                                   [ctypes.c_float, ctypes.POINTER(_Site), _P, ctypes.c_size_t, _P, _E]),
    "ad_sdpa_scratch_bytes": (ctypes.c_size_t, [ctypes.POINTER(_SdpaShape), ctypes.c_int]),
    "ad_sdpa_forward": (ctypes.c_int, [ctypes.POINTER(_SdpaShape), _SdpaView, _P, _SdpaView, _SdpaView, _SdpaView,
                                       ctypes.POINTER(_SdpaMask), ctypes.POINTER(_Site), _P, ctypes.c_size_t, _E]),
    "ad_sdpa_backward": (ctypes.c_int, [ctypes.POINTER(_SdpaShape)] + [_SdpaView] * 7 +
                         [ctypes.POINTER(_SdpaMask), _P, ctypes.POINTER(_Site), _P, ctypes.c_size_t, _E]),
    "ad_device_check": (ctypes.c_int, [ctypes.c_int, _E]),
    "ad_abi_layout": (ctypes.c_long, [ctypes.c_char_p, ctypes.c_char_p]),
    "ad_abi_fields": (ctypes.c_int, [ctypes.c_char_p]),
    "ad_scheme_get": (ctypes.POINTER(_SchemeInfo), [ctypes.c_int]),
    "ad_philox4x32": (None, [ctypes.POINTER(ctypes.c_uint32)] * 3),
    "ad_scheme_lookup": (ctypes.c_int, [ctypes.c_char_p]),
    "ad_stats_compute": (ctypes.c_int, [ctypes.POINTER(_Stats), ctypes.POINTER(_StatsOpts), _E]),
    "ad_stats_free": (None, [ctypes.POINTER(_Stats)]),
    "ad_drop_row": (ctypes.c_int, [ctypes.POINTER(_Site), ctypes.c_int, ctypes.c_int, ctypes.c_int, _D, ctypes.c_int, _D,
                                   _E]),
    "ad_input_mult": (ctypes.c_int, [ctypes.POINTER(_Site), ctypes.c_int, _I, ctypes.c_int, _F, _I, _E]),
    "ad_checkpoint_load": (ctypes.c_int, [ctypes.POINTER(_P), ctypes.POINTER(_Vocab), ctypes.c_char_p, ctypes.c_int,
                                          ctypes.c_int, _E]),
    "ad_model_free": (None, [_P]),
    "ad_vocab_free": (None, [ctypes.POINTER(_Vocab)]),
    "ad_model_config": (ctypes.POINTER(_Config), [_P]),
    "ad_model_forward": (ctypes.c_int, [_P, _I, _I, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_uint64,
                                        ctypes.c_uint64, _F, _E]),
    "ad_model_backward": (ctypes.c_int, [_P, _E]),
    "ad_model_grads": (_F, [_P]),
    "ad_model_params": (_F, [_P]),
    "ad_model_logits": (_F, [_P]),
    "ad_model_num_params": (ctypes.c_size_t, [_P]),
    "ad_model_num_tensors": (ctypes.c_int, [_P]),
    "ad_model_tensor": (ctypes.POINTER(_TensorInfo), [_P, ctypes.c_int]),
    "ad_adamw_default": (_AdamW, []),
    "ad_model_adamw_step": (ctypes.c_int, [_P, ctypes.POINTER(_AdamW), ctypes.c_long, _E]),
    "ad_model_check_grads": (ctypes.c_int, [_P, _E]),
    "ad_generate": (ctypes.c_int, [_P, _I, ctypes.c_int, ctypes.c_int, ctypes.POINTER(_SampleOpts), _I, _E]),
}


def _find():
    env = os.environ.get("ATTNDROP_LIB")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.join(here, "..", "..")
    # the source tree's build/ (python/attndrop inside the tree), else the installed package's own copy
    d = os.path.join(root, "build") if os.path.exists(os.path.join(root, "include", "attndrop.h")) else here
    path = os.path.join(d, "libattndrop.so")
    return path if os.path.exists(path) else "libattndrop.so"


_lib = None
_lib_lock = threading.Lock()


def _preload_torch_gomp() -> bool:
    """Loads PyTorch's own OpenMP runtime (torch/lib/libgomp.so.1, whose soname is libgomp.so.1) where the system
    has none, so that the library and PyTorch share one runtime. A wheel does not carry libgomp for that reason
    (`make wheel`). True if it was found and loaded."""
    import importlib.util
    spec = importlib.util.find_spec("torch")
    for d in (spec.submodule_search_locations or []) if spec is not None else []:
        path = os.path.join(d, "lib", "libgomp.so.1")
        if os.path.exists(path):
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            return True
    return False


def library() -> ctypes.CDLL:
    """The loaded libattndrop.so: $ATTNDROP_LIB, else the source tree's build/ (python/ on sys.path in the tree),
    else the installed package's own copy (pip install), else the loader's search path.
    Every function the package calls is bound before the library is kept; a library that cannot be loaded or
    lacks one raises AttndropError naming the path, and nothing is kept (the next call tries again)."""
    global _lib
    with _lib_lock:
        if _lib is not None:
            return _lib
        path = _find()
        # libgomp reads this as it loads (if torch has not loaded it already): idle threads spin
        # briefly, then sleep, instead of taking the cores from other processes (see cli/main.c).
        if "OMP_WAIT_POLICY" not in os.environ:
            os.environ.setdefault("GOMP_SPINCOUNT", "1000")
        hint = "(run `make` in the attndrop source tree, `pip install ./python` there, or set ATTNDROP_LIB)"
        try:
            try:
                lib = ctypes.CDLL(path)
            except OSError as e:
                if "libgomp" not in str(e) or not _preload_torch_gomp():
                    raise
                lib = ctypes.CDLL(path)
        except (OSError, ValueError, TypeError) as e:
            raise AttndropError(f"cannot load {path}: {one_line(e)} {hint}") from None
        try:
            for name, (restype, argtypes) in _SIGNATURES.items():
                f = getattr(lib, name)
                f.restype, f.argtypes = restype, argtypes
        except AttributeError:
            raise AttndropError(f"cannot load {path}: it has no function {name}: not attndrop's library, or another "
                                f"version of it {hint}") from None
        bad = _layout_mismatch(lib)
        if bad:
            raise AttndropError(f"cannot use {path}: its structs differ from this package's ({bad}): the package "
                                f"and the library come from different versions {hint}")
        _lib = lib
        return _lib


def scheme_table() -> list:
    """The library's scheme table, in ad_scheme order: (name, where) with where 'post', 'pre' or 'input'."""
    L = library()
    out = []
    for s in range(len(SCHEMES) + 1):
        info = L.ad_scheme_get(s)
        if not info:
            break
        out.append((info.contents.name.decode(), ("post", "pre", "input")[info.contents.where]))
    return out


_LEAKS = (TypeError, ValueError, OverflowError, KeyError, IndexError, AttributeError, ctypes.ArgumentError,
          struct.error, MemoryError, UnicodeError)


def _boundary(f):
    """Every exception of f that is not an AttndropError becomes one (with a one-line message)."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except AttndropError:
            raise
        except _LEAKS as e:
            raise AttndropError(f"{f.__name__}: {type(e).__name__}: {one_line(e)}") from None
    return wrapper


def _scheme_id(scheme):
    if not isinstance(scheme, str) or scheme not in SCHEMES:
        raise AttndropError(f"unknown scheme {scheme!r} (known: {', '.join(SCHEMES)})")
    return SCHEMES.index(scheme)


def _check(status, err):
    if status != 0:
        msg = one_line(err.msg.decode("utf-8", "replace")) or f"the library failed with status {status}"
        raise AttndropError(msg)


def _int_array(name, a, lo, hi, ndim):
    """a as a C-contiguous int32 array of ndim dimensions, if it is one of integers (not bools) all in [lo, hi)."""
    try:
        arr = np.asarray(a)
    except Exception as e:  # noqa: BLE001 - whatever numpy raises on a ragged or odd input
        raise AttndropError(f"{name} must be an array of integers: {one_line(e)}") from None
    if arr.dtype.kind not in "iu":
        raise AttndropError(f"{name} must be an array of integers, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise AttndropError(f"{name} must have {ndim} dimension{'s' if ndim > 1 else ''}, got shape {arr.shape}")
    if arr.size:
        mn, mx = int(arr.min()), int(arr.max())
        if mn < lo or mx >= hi:
            bad = mn if mn < lo else mx
            raise AttndropError(f"{name}: id {bad} is outside [{lo}, {hi})")
    return np.ascontiguousarray(arr, dtype=np.int32)


@_boundary
def philox(ctr, key) -> list:
    """Philox4x32-10 of four counter words and two key words (each in [0, 2^32)), by the C library."""
    lib = library()
    ctr, key = list(ctr), list(key)
    if len(ctr) != 4 or len(key) != 2:
        raise AttndropError(f"philox needs 4 counter words and 2 key words, got {len(ctr)} and {len(key)}")
    ctr = [check_int("a counter word", v, 0, UINT32_MAX) for v in ctr]
    key = [check_int("a key word", v, 0, UINT32_MAX) for v in key]
    c, k, o = (ctypes.c_uint32 * 4)(*ctr), (ctypes.c_uint32 * 2)(*key), (ctypes.c_uint32 * 4)()
    lib.ad_philox4x32(o, c, k)
    return list(o)


@_boundary
def stats(scheme: str = "standard", p: float = 0.5, block_size: int = 8, n_head: int = 4, n_layer: int = 4,
          trials: int = 100000, seed: int = 1337, bidirectional: bool = False, logit_std: float = 1.0) -> dict:
    """What a scheme does to attention rows (`attndrop stats`): a dict of numpy arrays (per position) and numbers.
    The C library checks the bounds (p in [0, 1), block_size in [1, 4096], ...) and its message is kept."""
    lib = library()
    sid = _scheme_id(scheme)
    p = check_float("p", p)  # the range is the library's to check
    # the valid ranges (src/schemes/stats.c's), so that a message names them, not a C type's
    o = _StatsOpts(sid, p, check_int("block_size", block_size, 1, 4096), check_int("n_head", n_head, 1, 1024),
                   check_int("n_layer", n_layer, 1, 1024), check_int("trials", trials, 1, 1000000000),
                   check_int("seed", seed, 0, UINT64_MAX), int(check_bool("bidirectional", bidirectional)),
                   check_float("logit_std", logit_std))
    st, err = _Stats(), _Error()
    _check(lib.ad_stats_compute(ctypes.byref(st), ctypes.byref(o), ctypes.byref(err)), err)
    try:
        out = {name: np.ctypeslib.as_array(getattr(st, name), shape=(st.T,)).copy() for name, _ in _Stats._fields_[1:10]}
        out.update({name: getattr(st, name) for name, _ in _Stats._fields_[10:]})
    finally:
        lib.ad_stats_free(ctypes.byref(st))
    return out


def _site(scheme, p, seed, step, layer, n_head, block_size, bidirectional, row0):
    return _Site(_scheme_id(scheme), check_p("p", p), check_int("seed", seed, 0, UINT64_MAX),
                 check_int("step", step, 0, UINT32_MAX), check_int("layer", layer, 0, MAX_LAYER),
                 check_int("n_head", n_head, 1, MAX_HEADS), check_int("block_size", block_size, 1, MAX_BLOCK),
                 int(check_bool("bidirectional", bidirectional)), check_int("row0", row0, 0, INT_MAX))


@_boundary
def drop_row(scheme: str, p: float, seed: int, step: int, layer: int, n_head: int, block_size: int, b: int, h: int,
             i: int, weights, bidirectional: bool = False, row0: int = 0) -> np.ndarray:
    """One attention row after the scheme, as the C library computes it (ad_drop_row): weights, the row's softmax
    weights, 1-D floats of exactly its length (i + 1, or block_size when bidirectional); returns them after
    dropout (float64)."""
    lib = library()
    site = _site(scheme, p, seed, step, layer, n_head, block_size, bidirectional, row0)
    b = check_int("b", b, 0, INT_MAX - site.row0)
    h = check_int("h", h, 0, site.n_head - 1)
    i = check_int("i", i, 0, site.block_size - 1)
    n = site.block_size if site.bidirectional else i + 1
    try:
        w = np.asarray(weights)
    except Exception as e:  # noqa: BLE001
        raise AttndropError(f"weights must be a 1-D array of floats: {one_line(e)}") from None
    if w.dtype.kind != "f":
        raise AttndropError(f"weights must be a 1-D array of floats, got dtype {w.dtype}")
    if w.shape != (n,):
        raise AttndropError(f"weights must have the row's {n} entries (shape ({n},)), got shape {w.shape}")
    w = np.ascontiguousarray(w, dtype=np.float64)
    out = np.zeros(n, dtype=np.float64)
    err = _Error()
    _check(lib.ad_drop_row(ctypes.byref(site), b, h, i, w.ctypes.data_as(_D), n, out.ctypes.data_as(_D),
                           ctypes.byref(err)), err)
    return out


@_boundary
def input_mask(scheme: str, p: float, seed: int, step: int, idx, b: int, row0: int = 0) -> np.ndarray:
    """word/embedding dropout's multipliers of one batch row's token ids (T,) (integers in [0, 2^31)), by the C
    library; ones for a scheme that is not input-level."""
    lib = library()
    ids = _int_array("idx", idx, 0, INT_MAX + 1, 1)
    T = check_int("the number of ids", len(ids), 1, MAX_BLOCK)
    site = _site(scheme, p, seed, step, 0, 1, T, False, row0)
    b = check_int("b", b, 0, INT_MAX - site.row0)
    out = np.zeros(T, dtype=np.float32)
    applied, err = ctypes.c_int(0), _Error()
    _check(lib.ad_input_mult(ctypes.byref(site), b, ids.ctypes.data_as(_I), T, out.ctypes.data_as(_F),
                             ctypes.byref(applied), ctypes.byref(err)), err)
    if not applied.value:
        out[:] = 1.0
    return out


def _serial(f):
    """A Model's call under its lock: the C model's buffers are shared by every call, and ctypes releases the
    GIL, so two threads calling one Model at once would mix their batches (wrong losses)."""
    @functools.wraps(f)
    def run(self, *a, **kw):
        with self._lock:
            return f(self, *a, **kw)
    return run


class Model:
    """A checkpoint loaded by the C library, to evaluate, train or sample from Python.

    m = Model("out/model.safetensors", batch=8, training=True)
    loss = m.train_step(x, y, step, seed=1337)     # x, y (B, T) int arrays of token ids
    text = m.sample("ROMEO:", 200)

    One Model may be shared by threads: each call holds the model's lock, so calls run one at a time (a
    forward and then its logits() from another thread's forward in between is the caller's to order).
    """

    @_boundary
    def __init__(self, path, batch: int = 1, training: bool = False):
        self._m = None
        self._lock = threading.RLock()
        lib = library()
        batch = check_int("batch", batch, 1, INT_MAX)
        training = check_bool("training", training)
        try:
            raw = os.fsencode(path)
        except TypeError:
            raise AttndropError(f"the checkpoint path must be a string or bytes, got {type(path).__name__}") from None
        if b"\0" in raw:
            raise AttndropError(f"the checkpoint path {path!r} holds a NUL byte")
        m, v, err = ctypes.c_void_p(), _Vocab(), _Error()
        _check(lib.ad_checkpoint_load(ctypes.byref(m), ctypes.byref(v), raw, batch, int(training), ctypes.byref(err)),
               err)
        self._lib, self._m, self._v = lib, m, v
        c = lib.ad_model_config(self._m).contents
        self.config = {f: getattr(c, f) for f, _ in _Config._fields_}
        self.config["scheme"] = SCHEMES[c.scheme]
        self.vocab = "".join(chr(self._v.chars[k]) for k in range(self._v.size))
        self.batch, self.training, self._t = batch, training, 0
        self._shape = None          # (B, T) of the last forward: what logits() holds
        self._can_backward = False  # a training forward with targets since the last backward
        self.adamw = lib.ad_adamw_default()

    def __del__(self):
        if getattr(self, "_m", None):
            self._lib.ad_model_free(self._m)
            self._lib.ad_vocab_free(ctypes.byref(self._v))
            self._m = None

    def _ids(self, name, a, shape=None):
        V = self.config["vocab_size"]
        arr = _int_array(name, a, 0, V, 2)
        B, T = arr.shape
        if shape is not None and arr.shape != shape:
            raise AttndropError(f"{name} must have the ids' shape {shape}, got {arr.shape}")
        if not (1 <= B <= self.batch and 1 <= T <= self.config["block_size"]):
            raise AttndropError(f"{name} must be (B, T) with 1 <= B <= {self.batch} and 1 <= T <= "
                                f"{self.config['block_size']}, got {arr.shape}")
        return arr

    @_boundary
    @_serial
    def forward(self, x, y=None, train: bool = False, seed: int = 1337, step: int = 0):
        """The mean loss of x (B, T) token ids against targets y of the same shape (None without targets: returns
        None); logits() then holds (B, T, V)."""
        x = self._ids("ids", x)
        yy = self._ids("targets", y, x.shape) if y is not None else None
        train = check_bool("train", train)
        seed, step = check_int("seed", seed, 0, UINT64_MAX), check_int("step", step, 0, UINT64_MAX)
        loss, err = ctypes.c_float(), _Error()
        self._can_backward = False
        _check(self._lib.ad_model_forward(self._m, x.ctypes.data_as(_I), yy.ctypes.data_as(_I) if yy is not None else None,
                                          x.shape[0], x.shape[1], int(train), seed, step, ctypes.byref(loss),
                                          ctypes.byref(err)), err)
        self._shape = x.shape
        self._can_backward = self.training and yy is not None
        return float(loss.value) if yy is not None else None

    @_boundary
    @_serial
    def logits(self) -> np.ndarray:
        """The logits of the last forward, (B, T, V)."""
        if self._shape is None:
            raise AttndropError("no logits yet: call forward first")
        B, T = self._shape
        return np.ctypeslib.as_array(self._lib.ad_model_logits(self._m), shape=(B, T, self.config["vocab_size"])).copy()

    @_boundary
    @_serial
    def backward(self) -> dict:
        """The gradients of the last forward (which had targets), by gpt.py's tensor names; once per forward."""
        if not self.training:
            raise AttndropError("the model was loaded without training=True")
        if not self._can_backward:
            raise AttndropError("backward needs a forward with targets since the last backward")
        err = _Error()
        self._can_backward = False
        _check(self._lib.ad_model_backward(self._m, ctypes.byref(err)), err)
        return self._tensors(self._lib.ad_model_grads(self._m))

    @_boundary
    @_serial
    def params(self) -> dict:
        """The weights, by gpt.py's tensor names (copies)."""
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

    @_boundary
    @_serial
    def train_step(self, x, y, step: int, seed: int = 1337) -> float:
        """One AdamW step (gpt.py's loop body, dropout on): returns the batch's loss."""
        if not self.training:
            raise AttndropError("the model was loaded without training=True")
        if y is None:
            raise AttndropError("train_step needs targets")
        loss = self.forward(x, y, train=True, seed=seed, step=step)
        self.backward()
        err = _Error()
        _check(self._lib.ad_model_check_grads(self._m, ctypes.byref(err)), err)
        if self._t >= _LONG_MAX:
            raise AttndropError("the AdamW step count is at its limit")
        _check(self._lib.ad_model_adamw_step(self._m, ctypes.byref(self.adamw), self._t + 1, ctypes.byref(err)), err)
        self._t += 1
        return loss

    @_boundary
    @_serial
    def sample(self, prompt: str = "", n: int = 200, temperature: float = 1.0, top_k: int = 0, seed: int = 1337) -> str:
        """Text generated after prompt (token 0 if empty), prompt included, as `attndrop sample` writes it."""
        if not isinstance(prompt, str):
            raise AttndropError(f"the prompt must be a string, got {type(prompt).__name__}")
        try:
            ctx = [self.vocab.index(ch) for ch in prompt] or [0]
        except ValueError:
            raise AttndropError("the prompt may only use characters of the training text") from None
        if len(ctx) > INT_MAX:
            raise AttndropError("the prompt is too long")
        n = check_int("n", n, 0, INT_MAX - len(ctx))
        so = _SampleOpts(check_float("temperature", temperature, 0.0), check_int("top_k", top_k, 0, INT_MAX),
                         check_int("seed", seed, 0, UINT64_MAX), 0)
        if not math.isfinite(so.temperature):
            raise AttndropError(f"temperature {temperature} is too large")
        out, err = (ctypes.c_int * (len(ctx) + n))(), _Error()
        self._can_backward = False
        self._shape = None
        _check(self._lib.ad_generate(self._m, (ctypes.c_int * len(ctx))(*ctx), len(ctx), n, ctypes.byref(so), out,
                                     ctypes.byref(err)), err)
        return "".join(self.vocab[k] for k in out)


@_boundary
def demo(scheme: str = "standard", p: float = 0.5, block_size: int = 4, seed: int = 1367149, dim: int = 10) -> dict:
    """The source's toy (`attndrop demo`): random causal similarities, the scheme's dropout, times random
    values; returns the four matrices and the rows that came out all zero. p in [0, 1), block_size in [1, 64]
    (as `attndrop demo`), dim in [1, 4096]."""
    from . import philox as ph
    import torch
    _scheme_id(scheme)
    p = check_p("p", p)
    T = check_int("block_size", block_size, 1, DEMO_MAX_BLOCK)
    dim = check_int("dim", dim, 1, DEMO_MAX_DIM)
    seed = check_int("seed", seed, 0, UINT64_MAX)
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
