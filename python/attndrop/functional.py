"""attndrop.functional: causal attention with any of attndrop's 15 dropout schemes, fused in the C library.

    y = attndrop.functional.scaled_dot_product_attention(q, k, v, dropout_p=p if self.training else 0.0,
                                                         is_causal=True, scheme="nonzero")

takes the arguments of torch.nn.functional.scaled_dot_product_attention, so nanoGPT's CausalSelfAttention
changes one call. q, k, v are (B, H, T, D); the forward and the backward run in libattndrop
(ad_attention_forward/_backward) on the tensors' own strides, keeping only each row's max and 1/sum between
them (nothing of size T x T): the backward recomputes the scores and regenerates the masks from their keys.

Randomness, by default as nn.Dropout's: each call with dropout draws one 64-bit key from `generator` (or
PyTorch's default generator), so torch.manual_seed governs the masks, torch.utils.checkpoint's saved RNG
state recomputes the same ones, and two ranks or two micro-batches differ as their generators do. With
`keys=(seed, step, layer, row0)` the masks are instead those of the C trainer at that step and layer, batch
row b drawing the masks of row row0 + b (exact mode: bit for bit `attndrop train`'s).

The op is registered with torch.library (PyTorch >= 2.4) as attndrop::attention_fwd/_bwd with fake
implementations and its autograd formula, so torch.compile traces it without a graph break; on older PyTorch
(Debian's 1.13) it is a torch.autograd.Function. float32 is computed as float32; bfloat16 and float16 are
computed in float32 and returned in their dtype.
"""
import ctypes
import math
import threading
from typing import Optional, Sequence, Tuple, Union

import torch

from . import lib as _lib
from .errors import AttndropError
from .schemes import SCHEMES, where

__all__ = ["scaled_dot_product_attention"]

_MAX_BLOCK = 8192
_LOWERABLE = (torch.float32, torch.float16, torch.bfloat16)
_U64 = (1 << 64) - 1


def _view(t: torch.Tensor) -> "_lib._View":
    b, h, s = t.stride()[:3]
    return _lib._View(t.data_ptr(), b, h, s)


def _rows_ok(t: torch.Tensor) -> torch.Tensor:
    """t itself where its last dimension is contiguous and its row stride fits an int, else a contiguous copy."""
    if t.stride(-1) == 1 and t.stride(2) >= t.shape[-1] and t.stride(2) < 2**31 and all(s >= 0 for s in t.stride()):
        return t
    return t.contiguous()


def _site(keys: torch.Tensor, scheme: int, p: float, H: int, T: int):
    if p <= 0.0 or SCHEMES[scheme] == "none":
        return None
    k = [int(x) for x in keys.tolist()]
    _check_keys(k[1], k[2], k[3])  # a keys tensor is checked here, inside the op, where its values are known
    return _lib._Site(scheme, p, k[0] & _U64, k[1], k[2], H, T, 0, k[3])


def _check_keys(step: int, layer: int, row0: int) -> None:
    """The ranges the masks' counters hold: step in 32 bits, layer in 16, row0 a non-negative int."""
    for name, x, hi in (("step", step, 2**32 - 1), ("layer", layer, 65535), ("row0", row0, 2**31 - 1)):
        if not 0 <= x <= hi:
            raise AttndropError(f"keys: {name} must be in [0, {hi}], got {x}")


_SCRATCH = threading.local()
_SCRATCH_KEEP = 512 << 20  # bytes: a larger scratch is allocated for its call alone


def _scratch_bytes(nbytes: int) -> torch.Tensor:
    """A CPU byte buffer of at least nbytes for one call's kernels, kept between calls (one per Python thread, so
    that concurrent calls never share one): a fresh allocation of this size would fault its pages in at every
    call (100 MiB per call at T = 2048, a fifth of the op's time there). Up to _SCRATCH_KEEP bytes are kept."""
    buf = getattr(_SCRATCH, "buf", None)
    if buf is not None and buf.numel() >= nbytes:
        return buf
    buf = torch.empty(max(nbytes, 1), dtype=torch.uint8)
    if nbytes <= _SCRATCH_KEEP:
        _SCRATCH.buf = buf
    return buf


def _scratch(T: int, D: int) -> Tuple[torch.Tensor, int]:
    lib = _lib.library()
    n = lib.ad_attention_scratch_floats(T, D, max(1, lib.ad_get_threads()))
    return _scratch_bytes(4 * n), n


def _check(status: int, err) -> None:
    if status != 0:
        raise AttndropError(err.msg.decode("utf-8", "replace"))


def _cuda_call(q: torch.Tensor, site) -> Tuple[Optional[torch.Tensor], int, Optional[int]]:
    """fixedcount's device scratch (None for other schemes), its size, and PyTorch's current stream (None for
    tensors on the CPU, which only the tests pass, to a library whose device is emulated: make CUDA_EMUL=1)."""
    lib = _lib.library()
    B, H, T, _ = q.shape
    n = lib.ad_attention_cuda_scratch_bytes(ctypes.byref(site), B, H, T) if site is not None else 0
    scr = torch.empty(n, dtype=torch.uint8, device=q.device) if n else None
    return scr, n, torch.cuda.current_stream(q.device).cuda_stream if q.is_cuda else None


def _operands(what: str, shape, device, **tensors) -> None:
    """Every tensor that reaches the library, checked where its pointer crosses (the registered ops are public:
    torch.ops.attndrop.* is called without the wrapper's checks): float32, on q's device, with the shape the
    library will read (stats: (B, H, T, 2)). AttndropError naming the operand."""
    for name, t in tensors.items():
        want = tuple(shape[:3]) + (2,) if name == "stats" else tuple(shape)
        if not isinstance(t, torch.Tensor):
            raise AttndropError(f"{what}: {name} must be a tensor, got {type(t).__name__}")
        if t.dtype != torch.float32:
            raise AttndropError(f"{what}: {name} must be float32, got {t.dtype}")
        if t.device != device:
            raise AttndropError(f"{what}: {name} is on {t.device}, q on {device}")
        if tuple(t.shape) != want:
            raise AttndropError(f"{what}: {name} has shape {tuple(t.shape)}, expected {want}")


def _op_args(what: str, q, keys, scale, scheme, p) -> None:
    """The op's other arguments: q a 4-D float32 tensor, keys 4 integers, scheme an index, p a rate, scale > 0."""
    if not isinstance(q, torch.Tensor) or q.dim() != 4:
        raise AttndropError(f"{what}: q must be a 4-D tensor (B, H, T, D), got "
                            f"{tuple(q.shape) if isinstance(q, torch.Tensor) else type(q).__name__}")
    if not isinstance(keys, torch.Tensor) or keys.dtype not in (torch.int64, torch.int32) or keys.numel() != 4:
        raise AttndropError(f"{what}: keys must be an integer tensor of 4 values (seed, step, layer, row0)")
    if not isinstance(scheme, int) or not 0 <= scheme < len(SCHEMES):
        raise AttndropError(f"{what}: scheme must be an index in [0, {len(SCHEMES) - 1}], got {scheme!r}")
    if not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
        raise AttndropError(f"{what}: p must be in [0, 1), got {p!r}")
    if not isinstance(scale, (int, float)) or not (math.isfinite(scale) and scale > 0):
        raise AttndropError(f"{what}: scale must be finite and > 0, got {scale!r}")


def _fwd_impl(q, k, v, keys, scale, scheme, p, device: Optional[bool] = None):
    """The forward in the library: its CUDA entry point where device (default: q.is_cuda), else the CPU's."""
    lib = _lib.library()
    _op_args("attention_fwd", q, keys, scale, scheme, p)
    _operands("attention_fwd", q.shape, q.device, q=q, k=k, v=v)
    q, k, v = _rows_ok(q), _rows_ok(k), _rows_ok(v)
    B, H, T, D = q.shape
    out = torch.empty((B, H, T, D), dtype=torch.float32, device=q.device)
    stats = torch.empty((B, H, T, 2), dtype=torch.float32, device=q.device)
    site, err = _site(keys, scheme, p, H, T), _lib._Error()
    sp = ctypes.byref(site) if site is not None else None
    if q.is_cuda if device is None else device:  # the CUDA back end's rows, on the device pointers and stream
        scr, n, stream = _cuda_call(q, site)
        _check(lib.ad_attention_forward_cuda(_view(out), stats.data_ptr(), _view(q), _view(k), _view(v), B, H, T, D,
                                             scale, sp, scr.data_ptr() if scr is not None else None, n, stream,
                                             ctypes.byref(err)), err)
        return out, stats
    scr, n = _scratch(T, D)
    _check(lib.ad_attention_forward(_view(out), stats.data_ptr(), _view(q), _view(k), _view(v), B, H, T, D, scale,
                                    sp, scr.data_ptr(), n, ctypes.byref(err)), err)
    return out, stats


def _bwd_impl(grad, q, k, v, out, stats, keys, scale, scheme, p, device: Optional[bool] = None):
    """The backward in the library, as _fwd_impl."""
    lib = _lib.library()
    _op_args("attention_bwd", q, keys, scale, scheme, p)
    if isinstance(grad, torch.Tensor) and grad.is_floating_point():
        grad = grad.float()  # autocast's gradient may come in a lower precision
    _operands("attention_bwd", q.shape, q.device, q=q, k=k, v=v, grad=grad, stats=stats)
    if q.is_cuda if device is None else device:
        _operands("attention_bwd", q.shape, q.device, out=out)
    grad, q, k, v = _rows_ok(grad), _rows_ok(q), _rows_ok(k), _rows_ok(v)
    B, H, T, D = q.shape
    dq, dk, dv = (torch.empty((B, H, T, D), dtype=torch.float32, device=q.device) for _ in range(3))
    site, err = _site(keys, scheme, p, H, T), _lib._Error()
    sp = ctypes.byref(site) if site is not None else None
    stats = stats.contiguous()
    if q.is_cuda if device is None else device:
        scr, n, stream = _cuda_call(q, site)
        _check(lib.ad_attention_backward_cuda(_view(dq), _view(dk), _view(dv), _view(grad), _view(q), _view(k),
                                              _view(v), _view(_rows_ok(out)), stats.data_ptr(), B, H, T, D, scale, sp,
                                              scr.data_ptr() if scr is not None else None, n, stream,
                                              ctypes.byref(err)), err)
        return dq, dk, dv
    scr, n = _scratch(T, D)
    _check(lib.ad_attention_backward(_view(dq), _view(dk), _view(dv), _view(grad), _view(q), _view(k), _view(v),
                                     stats.data_ptr(), B, H, T, D, scale, sp, scr.data_ptr(), n,
                                     ctypes.byref(err)), err)
    return dq, dk, dv


_DTYPE_CODE = {torch.float32: 0, torch.float64: 1}


def _sview(t: torch.Tensor) -> "_lib._SdpaView":
    b, h, s = t.stride()[:3]
    return _lib._SdpaView(t.data_ptr(), b, h, s)


def _sdpa_site(keys: torch.Tensor, scheme: int, p: float, causal: bool):
    if p <= 0.0 or SCHEMES[scheme] == "none":
        return None
    k = [int(x) for x in keys.tolist()]
    _check_keys(k[1], k[2], k[3])
    return _lib._Site(scheme, p, k[0] & _U64, k[1], k[2], 0, 0, 0 if causal else 1, k[3])


def _sdpa_args(what: str, q, k, v, mask, keys, scale, scheme, p, causal) -> Tuple[int, ...]:
    """The general op's operands, checked where their pointers cross (torch.ops.attndrop.sdpa_* are public):
    q (B,H,T_q,D), k (B,H_kv,T_k,D), v (B,H_kv,T_k,D_v), mask None or (B,H,T_q,T_k), one dtype (float32 or
    float64), on the CPU. Returns (B, H, H_kv, T_q, T_k, D, D_v)."""
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor) or t.dim() != 4:
            raise AttndropError(f"{what}: {name} must be a 4-D tensor, got "
                                f"{tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__}")
        if t.dtype not in _DTYPE_CODE or t.dtype != q.dtype:
            raise AttndropError(f"{what}: {name} must be float32 or float64 as q, got {t.dtype}")
        if t.device.type != "cpu":
            raise AttndropError(f"{what}: {name} is on {t.device}: the general op runs on the CPU")
    B, H, Tq, D = q.shape
    Hk, Tk, Dv = k.shape[1], k.shape[2], v.shape[3]
    if k.shape[0] != B or k.shape[3] != D or tuple(v.shape[:3]) != (B, Hk, Tk) or Hk < 1 or H % Hk:
        raise AttndropError(f"{what}: q {tuple(q.shape)}, k {tuple(k.shape)} and v {tuple(v.shape)} are not "
                            f"(B,H,T_q,D), (B,H_kv,T_k,D), (B,H_kv,T_k,D_v) with H a multiple of H_kv")
    if mask is not None and (not isinstance(mask, torch.Tensor) or mask.dtype != q.dtype or
                             tuple(mask.shape) != (B, H, Tq, Tk) or mask.device != q.device):
        raise AttndropError(f"{what}: mask must be a {q.dtype} tensor of shape {(B, H, Tq, Tk)} on the CPU")
    _op_args(what, q, keys, 1.0, scheme, p)
    if not isinstance(scale, (int, float)) or not math.isfinite(scale):
        raise AttndropError(f"{what}: scale must be finite, got {scale!r}")
    if not isinstance(causal, bool):
        raise AttndropError(f"{what}: causal must be a bool, got {causal!r}")
    return B, H, Hk, Tq, Tk, D, Dv


def _mask_holds_causal(mask: Optional[torch.Tensor], Tq: int, Tk: int) -> bool:
    """Whether an additive (B,H,T_q,T_k) mask is -inf wherever the causal mask is (key j > query i): then the call
    is causal attention with that mask (Hugging Face passes its causal models' masks so), and the kernels skip
    the key blocks above the diagonal, drawing the causal call's masks. Read on the mask's own elements (a
    broadcast dimension once)."""
    if mask is None or Tk <= 1:
        return False
    idx = tuple(0 if st == 0 else slice(None) for st in mask.stride()[:2])
    m = mask[idx]  # the batch and head dimensions the mask really has
    upper = torch.ones(Tq, Tk, dtype=torch.bool).triu(1)
    return bool(torch.isneginf(m[..., upper]).all())


def _sdpa_call(q, k, v, mask, keys, scale, scheme, p, causal, sizes):
    """The shape, the mask's view, the site and the scratch of one call of the general op."""
    B, H, Hk, Tq, Tk, D, Dv = sizes
    lib = _lib.library()
    causal = causal or _mask_holds_causal(mask, Tq, Tk)
    shape = _lib._SdpaShape(B, H, Hk, Tq, Tk, D, Dv, int(causal), _DTYPE_CODE[q.dtype], float(scale))
    m = None
    if mask is not None:
        m = _lib._SdpaMask(mask.data_ptr(), *mask.stride())
    n = lib.ad_sdpa_scratch_bytes(ctypes.byref(shape), max(1, lib.ad_get_threads()))
    scr = _scratch_bytes(n)
    return shape, m, _sdpa_site(keys, scheme, p, causal), scr, n


def _sdpa_fwd_impl(q, k, v, mask, keys, scale, scheme, p, causal):
    """The general forward in the library: out (B,H,T_q,D_v) and stats (B,H,T_q,2) in q's dtype."""
    sizes = _sdpa_args("sdpa_fwd", q, k, v, mask, keys, scale, scheme, p, causal)
    q, k, v = _rows_ok(q), _rows_ok(k), _rows_ok(v)
    B, H, _, Tq, _, _, Dv = sizes
    out = torch.empty((B, H, Tq, Dv), dtype=q.dtype)
    stats = torch.empty((B, H, Tq, 2), dtype=q.dtype)
    shape, m, site, scr, n = _sdpa_call(q, k, v, mask, keys, scale, scheme, p, causal, sizes)
    err = _lib._Error()
    _check(_lib.library().ad_sdpa_forward(ctypes.byref(shape), _sview(out), stats.data_ptr(), _sview(q), _sview(k),
                                          _sview(v), ctypes.byref(m) if m is not None else None,
                                          ctypes.byref(site) if site is not None else None, scr.data_ptr(), n,
                                          ctypes.byref(err)), err)
    return out, stats


def _sdpa_bwd_impl(grad, q, k, v, mask, stats, keys, scale, scheme, p, causal):
    """The general backward in the library: dq, dk, dv in the shapes and dtype of q, k, v."""
    sizes = _sdpa_args("sdpa_bwd", q, k, v, mask, keys, scale, scheme, p, causal)
    B, H, Hk, Tq, Tk, D, Dv = sizes
    if isinstance(grad, torch.Tensor) and grad.is_floating_point():
        grad = grad.to(q.dtype)
    for name, t, want in (("grad", grad, (B, H, Tq, Dv)), ("stats", stats, (B, H, Tq, 2))):
        if not isinstance(t, torch.Tensor) or t.dtype != q.dtype or tuple(t.shape) != want or t.device != q.device:
            raise AttndropError(f"sdpa_bwd: {name} must be a {q.dtype} tensor of shape {want} on the CPU")
    grad, q, k, v, stats = _rows_ok(grad), _rows_ok(q), _rows_ok(k), _rows_ok(v), stats.contiguous()
    dq, dk, dv = torch.empty_like(q, memory_format=torch.contiguous_format), \
        torch.empty_like(k, memory_format=torch.contiguous_format), \
        torch.empty_like(v, memory_format=torch.contiguous_format)
    shape, m, site, scr, n = _sdpa_call(q, k, v, mask, keys, scale, scheme, p, causal, sizes)
    err = _lib._Error()
    _check(_lib.library().ad_sdpa_backward(ctypes.byref(shape), _sview(dq), _sview(dk), _sview(dv), _sview(grad),
                                           _sview(q), _sview(k), _sview(v),
                                           ctypes.byref(m) if m is not None else None, stats.data_ptr(),
                                           ctypes.byref(site) if site is not None else None, scr.data_ptr(), n,
                                           ctypes.byref(err)), err)
    return dq, dk, dv


def _check_rate(rate) -> None:
    """A tensor dropout_p: one floating-point value (AttndropError otherwise)."""
    if not isinstance(rate, torch.Tensor) or rate.numel() != 1 or not rate.is_floating_point():
        got = (rate.dtype, tuple(rate.shape)) if isinstance(rate, torch.Tensor) else type(rate).__name__
        raise AttndropError(f"dropout_p: a tensor rate must be one floating-point value, got {got}")


def _rate(p: float, rate: Optional[torch.Tensor]) -> float:
    """The call's dropout rate: p, or the value of the one-element floating tensor rate where one is given (a
    tensor dropout_p, read inside the op so that torch.compile needs no graph break)."""
    if rate is None:
        return p
    _check_rate(rate)
    r = float(rate.detach().reshape(()).double().cpu())
    if not 0.0 <= r < 1.0:
        raise AttndropError(f"dropout_p must be in [0, 1), got {r}")
    return r


def _draw(generator: torch.Generator) -> torch.Tensor:
    """A call's key drawn from generator, on its device, as one int64 on the CPU."""
    return torch.randint(0, 2**63 - 1, (1,), dtype=torch.int64, generator=generator, device=generator.device).cpu()


_HAS_CUSTOM_OP = hasattr(torch, "library") and hasattr(torch.library, "custom_op") and \
    hasattr(torch.library, "register_autograd")

if _HAS_CUSTOM_OP:
    @torch.library.custom_op("attndrop::attention_fwd", mutates_args=(), device_types=("cpu", "cuda"))
    def _attention_fwd(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, keys: torch.Tensor, scale: float,
                       scheme: int, p: float, rate: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        return _fwd_impl(q, k, v, keys, scale, scheme, _rate(p, rate))

    @_attention_fwd.register_fake
    def _(q, k, v, keys, scale, scheme, p, rate=None):
        B, H, T, D = q.shape
        return q.new_empty((B, H, T, D)), q.new_empty((B, H, T, 2))

    @torch.library.custom_op("attndrop::attention_bwd", mutates_args=(), device_types=("cpu", "cuda"))
    def _attention_bwd(grad: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, out: torch.Tensor,
                       stats: torch.Tensor, keys: torch.Tensor, scale: float, scheme: int,
                       p: float,
                       rate: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return _bwd_impl(grad, q, k, v, out, stats, keys, scale, scheme, _rate(p, rate))

    @_attention_bwd.register_fake
    def _(grad, q, k, v, out, stats, keys, scale, scheme, p, rate=None):
        return q.new_empty(q.shape), q.new_empty(q.shape), q.new_empty(q.shape)

    def _setup_context(ctx, inputs, output):
        q, k, v, keys, scale, scheme, p, rate = inputs
        # the forward's out only where the backward reads it: the GPU's rows (D_i = dout_i . out_i)
        ctx.save_for_backward(q, k, v, output[0] if q.is_cuda else output[1], output[1], keys, rate)
        ctx.att = (scale, scheme, p)

    def _backward(ctx, grad_out, grad_stats):
        q, k, v, out, stats, keys, rate = ctx.saved_tensors
        dq, dk, dv = _attention_bwd(grad_out, q, k, v, out, stats, keys, *ctx.att, rate)
        return dq, dk, dv, None, None, None, None, None

    torch.library.register_autograd("attndrop::attention_fwd", _backward, setup_context=_setup_context)

    def _attention(q, k, v, keys, scale, scheme, p, rate=None):
        return _attention_fwd(q, k, v, keys, scale, scheme, p, rate)[0]

    @torch.library.custom_op("attndrop::sdpa_fwd", mutates_args=(), device_types=("cpu",))
    def _sdpa_fwd(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Optional[torch.Tensor], keys: torch.Tensor,
                  scale: float, scheme: int, p: float, causal: bool,
                  rate: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        return _sdpa_fwd_impl(q, k, v, mask, keys, scale, scheme, _rate(p, rate), causal)

    @_sdpa_fwd.register_fake
    def _(q, k, v, mask, keys, scale, scheme, p, causal, rate=None):
        B, H, Tq, _ = q.shape
        return q.new_empty((B, H, Tq, v.shape[3])), q.new_empty((B, H, Tq, 2))

    @torch.library.custom_op("attndrop::sdpa_bwd", mutates_args=(), device_types=("cpu",))
    def _sdpa_bwd(grad: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Optional[torch.Tensor],
                  stats: torch.Tensor, keys: torch.Tensor, scale: float, scheme: int, p: float,
                  causal: bool, rate: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return _sdpa_bwd_impl(grad, q, k, v, mask, stats, keys, scale, scheme, _rate(p, rate), causal)

    @_sdpa_bwd.register_fake
    def _(grad, q, k, v, mask, stats, keys, scale, scheme, p, causal, rate=None):
        return q.new_empty(q.shape), k.new_empty(k.shape), v.new_empty(v.shape)

    def _sdpa_setup_context(ctx, inputs, output):
        q, k, v, mask, keys, scale, scheme, p, causal, rate = inputs
        ctx.save_for_backward(q, k, v, mask, output[1], keys, rate)
        ctx.att = (scale, scheme, p, causal)

    def _sdpa_backward(ctx, grad_out, grad_stats):
        q, k, v, mask, stats, keys, rate = ctx.saved_tensors
        dq, dk, dv = _sdpa_bwd(grad_out, q, k, v, mask, stats, keys, *ctx.att, rate)
        return dq, dk, dv, None, None, None, None, None, None, None

    torch.library.register_autograd("attndrop::sdpa_fwd", _sdpa_backward, setup_context=_sdpa_setup_context)

    def _general(q, k, v, mask, keys, scale, scheme, p, causal, rate=None):
        return _sdpa_fwd(q, k, v, mask, keys, scale, scheme, p, causal, rate)[0]

    # generator=: torch.compile cannot hold a torch.Generator in a graph, so the call's key is drawn by an op that
    # names the generator by a handle (its id). The handle is made while tracing (assume_constant_result: the
    # graph guards on the generator), and the generator is kept here so that its id names it alone.
    _GENERATORS: dict = {}

    def _generator_handle(generator: torch.Generator) -> int:
        _GENERATORS[id(generator)] = generator
        return id(generator)

    _assume = getattr(getattr(torch, "_dynamo", None), "assume_constant_result", None)
    if _assume is not None:
        _generator_handle = _assume(_generator_handle)

    def _draw_key_impl(anchor: torch.Tensor, generator: int) -> torch.Tensor:
        g = _GENERATORS.get(generator) if isinstance(generator, int) else None
        if g is None:
            raise AttndropError(f"draw_key: {generator!r} names no generator given to the op")
        return _draw(g)

    try:  # a random op: never merged with another call, never recomputed for a backward
        _draw_key = torch.library.custom_op("attndrop::draw_key", mutates_args=(),
                                            tags=(torch.Tag.nondeterministic_seeded,))(_draw_key_impl)
    except TypeError:  # custom_op without tags=
        _draw_key = torch.library.custom_op("attndrop::draw_key", mutates_args=())(_draw_key_impl)

    @_draw_key.register_fake
    def _(anchor, generator):
        return torch.empty(1, dtype=torch.int64)

    def _generator_key(anchor: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return _draw_key(anchor, _generator_handle(generator))
else:
    class _AttentionFunction(torch.autograd.Function):
        """The op for PyTorch without torch.library.custom_op (before 2.4)."""

        @staticmethod
        def forward(ctx, q, k, v, keys, scale, scheme, p):
            out, stats = _fwd_impl(q, k, v, keys, scale, scheme, p)
            ctx.save_for_backward(q, k, v, out if q.is_cuda else stats, stats, keys)
            ctx.att = (scale, scheme, p)
            return out

        @staticmethod
        @torch.autograd.function.once_differentiable  # a second derivative raises, not zeros
        def backward(ctx, grad_out):
            q, k, v, out, stats, keys = ctx.saved_tensors
            dq, dk, dv = _bwd_impl(grad_out, q, k, v, out, stats, keys, *ctx.att)
            return dq, dk, dv, None, None, None, None

    def _attention(q, k, v, keys, scale, scheme, p, rate=None):
        return _AttentionFunction.apply(q, k, v, keys, scale, scheme, _rate(p, rate))

    class _GeneralFunction(torch.autograd.Function):
        """The general op for PyTorch without torch.library.custom_op (before 2.4)."""

        @staticmethod
        def forward(ctx, q, k, v, mask, keys, scale, scheme, p, causal):
            out, stats = _sdpa_fwd_impl(q, k, v, mask, keys, scale, scheme, p, causal)
            ctx.save_for_backward(q, k, v, mask, stats, keys)
            ctx.att = (scale, scheme, p, causal)
            return out

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, grad_out):
            q, k, v, mask, stats, keys = ctx.saved_tensors
            dq, dk, dv = _sdpa_bwd_impl(grad_out, q, k, v, mask, stats, keys, *ctx.att)
            return dq, dk, dv, None, None, None, None, None, None

    def _general(q, k, v, mask, keys, scale, scheme, p, causal, rate=None):
        return _GeneralFunction.apply(q, k, v, mask, keys, scale, scheme, _rate(p, rate), causal)

    def _generator_key(anchor: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return _draw(generator)


KeysLike = Union[Sequence[int], torch.Tensor]

_CUDA_OK: Optional[str] = None  # "" once the loaded library has answered that it can use a GPU, else why not


def _cuda_ready(D: int) -> None:
    """Raises AttndropError unless the loaded libattndrop was built with CUDA and sees a GPU, and D <= 128."""
    global _CUDA_OK
    if _CUDA_OK is None:
        err = _lib._Error()
        st = _lib.library().ad_device_check(1, ctypes.byref(err))  # AD_DEVICE_CUDA
        _CUDA_OK = "" if st == 0 else err.msg.decode("utf-8", "replace")
    if _CUDA_OK:
        raise AttndropError(f"CUDA tensors need a libattndrop built with `make CUDA=1` (set ATTNDROP_LIB to its "
                            f"build-cuda/libattndrop.so): {_CUDA_OK}")
    if D > 128:
        raise AttndropError(f"on CUDA the head size D must be at most 128, got {D}")


def _exact_keys(keys: KeysLike) -> torch.Tensor:
    """keys=(seed, step, layer, row0) (row0 may be left out) as an int64 tensor; a tensor is used as it is
    (a module's step buffer can so go in without a recompile per step)."""
    if isinstance(keys, torch.Tensor):
        if keys.dtype != torch.int64 or keys.dim() != 1 or keys.numel() != 4:
            raise AttndropError(f"keys: a tensor of keys must be int64 (seed, step, layer, row0), got "
                                f"{keys.dtype} of shape {tuple(keys.shape)}")
        return keys.cpu()
    ks = list(keys)
    if len(ks) == 3:
        ks.append(0)
    if len(ks) != 4 or not all(isinstance(x, int) and not isinstance(x, bool) for x in ks):
        raise AttndropError(f"keys must be (seed, step, layer[, row0]) integers, got {keys!r}")
    seed, step, layer, row0 = ks
    if not 0 <= seed <= _U64:
        raise AttndropError(f"keys: seed must be in [0, {_U64}], got {seed}")
    _check_keys(step, layer, row0)
    return torch.tensor([seed - (1 << 64) if seed >= 1 << 63 else seed, step, layer, row0], dtype=torch.int64)


def _mask_view(attn_mask: torch.Tensor, target: Tuple[int, ...], B: int, H: int, cdtype: torch.dtype) -> torch.Tensor:
    """attn_mask (bool: True takes part; or additive) as an additive mask of the compute dtype, broadcast to
    target (q's shape with its last size replaced by T_k) and seen as (B, H, T_q, T_k): a view where it can be."""
    if not isinstance(attn_mask, torch.Tensor):
        raise AttndropError(f"attn_mask must be a tensor, got {type(attn_mask).__name__}")
    if attn_mask.dtype == torch.bool:
        m = torch.zeros(attn_mask.shape, dtype=cdtype, device=attn_mask.device).masked_fill(~attn_mask, -math.inf)
    elif attn_mask.is_floating_point():
        if attn_mask.requires_grad:
            raise AttndropError("attn_mask requires grad: attndrop computes no gradient for the mask (detach it)")
        m = attn_mask.to(cdtype)
    else:
        raise AttndropError(f"attn_mask must be bool or floating point, got {attn_mask.dtype}")
    if m.dim() > len(target):
        raise AttndropError(f"attn_mask of shape {tuple(attn_mask.shape)} does not broadcast to {target}")
    try:
        m = m.expand(target)
    except RuntimeError:
        raise AttndropError(f"attn_mask of shape {tuple(attn_mask.shape)} does not broadcast to {target}") from None
    Tq, Tk = target[-2], target[-1]
    return m.unsqueeze(1) if len(target) == 3 else m.reshape(B, H, Tq, Tk)


def _empty(query, key, value, mask, causal: bool, scale: float, group: int, three: bool) -> torch.Tensor:
    """SDPA by its definition where some size is 0 (PyTorch's own SDPA is not in 1.13): out of the right shape,
    zero where a row has no key, and connected to the inputs for autograd."""
    if not three and group > 1:
        key, value = key.repeat_interleave(group, dim=-3), value.repeat_interleave(group, dim=-3)
    att = (query @ key.transpose(-1, -2)) * scale
    Tq, Tk = att.shape[-2:]
    if causal:
        att = att.masked_fill(~torch.ones(Tq, Tk, dtype=torch.bool, device=att.device).tril(), -math.inf)
    if mask is not None:
        att = att + (mask.squeeze(1) if three else mask.reshape(att.shape)).to(att.dtype)
    return torch.softmax(att, -1).nan_to_num(0.0) @ value


def _autocast_dtype(device_type: str) -> Optional[torch.dtype]:
    """The dtype autocast gives SDPA's inputs on device_type, or None where autocast is off there."""
    try:  # PyTorch >= 2.4
        if not torch.is_autocast_enabled(device_type):
            return None
        return torch.get_autocast_dtype(device_type)
    except (TypeError, AttributeError):  # 1.13's per-device functions
        if device_type == "cpu":
            return torch.get_autocast_cpu_dtype() if torch.is_autocast_cpu_enabled() else None
        if device_type == "cuda":
            return torch.get_autocast_gpu_dtype() if torch.is_autocast_enabled() else None
        return None


def _compiling() -> bool:
    comp = getattr(torch, "compiler", None)
    return bool(comp is not None and hasattr(comp, "is_compiling") and comp.is_compiling())


def _refuse_transforms(*tensors: torch.Tensor) -> None:
    """AttndropError for inputs under torch.func's transforms or carrying forward-mode tangents: the op has a
    reverse-mode derivative only, and a transform would otherwise see zero tangents or unbatched calls."""
    if _compiling():
        return
    fc = getattr(torch._C, "_functorch", None)
    fw = getattr(torch.autograd, "forward_ad", None)
    for t in tensors:
        if fc is not None and hasattr(fc, "is_functorch_wrapped_tensor") and fc.is_functorch_wrapped_tensor(t):
            raise AttndropError("torch.func transforms (grad, jvp, jacfwd, jacrev, vmap) are not supported: use "
                                "torch.autograd (loss.backward() or torch.autograd.grad)")
        if fw is not None and fw.unpack_dual(t).tangent is not None:
            raise AttndropError("forward-mode AD is not supported: attndrop computes reverse-mode gradients only")


def scaled_dot_product_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                                 attn_mask: Optional[torch.Tensor] = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: Optional[float] = None, enable_gqa: bool = False, *,
                                 scheme: str = "standard", generator: Optional[torch.Generator] = None,
                                 keys: Optional[KeysLike] = None) -> torch.Tensor:
    """torch.nn.functional.scaled_dot_product_attention with `scheme`'s dropout at rate dropout_p.

    The arguments and shapes of SDPA: query (..., H, T_q, E), key (..., H_kv, T_k, E), value (..., H_kv, T_k, E_v),
    3-D (N, T, E) or with any leading batch dimensions; H_kv = H, or H a multiple of it with enable_gqa=True
    (grouped-query attention: query head h reads key/value head h // (H // H_kv), no copy). attn_mask: bool (True:
    the key takes part) or additive, broadcastable to (..., H, T_q, T_k); is_causal: query i sees keys j <= i
    (SDPA's top-left alignment), with or without a mask. scale: any finite value, default 1/sqrt(E). A row with no
    visible key returns zeros and passes no gradient, as SDPA's. dropout_p is applied whenever it is > 0, as SDPA
    does: pass 0.0 in evaluation.

    Tensors of one dtype: float32 (computed as float32), float64 (computed in double), bfloat16 and float16
    (computed in float32, returned in their dtype); under torch.autocast, SDPA's rule: float32, float16 and
    bfloat16 inputs are taken in autocast's dtype (computed in float32 and returned in autocast's dtype); on the
    CPU, or for causal attention without a mask, grouped heads or unequal sizes, on one CUDA device with a
    libattndrop built by `make CUDA=1` (E <= 128). The common
    causal case (no mask, T_q = T_k, H_kv = H, E_v = E, float32 compute) runs the kernels the C trainer runs; the
    rest run the general kernels (ad_sdpa_forward), whose masks equal those where both apply.

    scheme: one of attndrop.SCHEMES except the input-level word and embedding; on masked keys, nonzero, dropkey
    and fixedcount draw on the row's visible keys, the others at each key's position, and a masked key never
    survives. generator: where the call's key is drawn (default: PyTorch's). keys: (seed, step, layer[, row0])
    for the C trainer's exact masks instead. Empty inputs (no batch row, query row, key or feature) are handed to
    torch's SDPA without dropout: there is nothing to drop. Raises AttndropError (a ValueError) for anything it
    cannot compute.
    """
    tensors = (query, key, value)
    if not all(isinstance(t, torch.Tensor) for t in tensors):
        raise AttndropError("query, key and value must be tensors")
    if not 3 <= query.dim() == key.dim() == value.dim():
        raise AttndropError(f"query, key and value must be (..., H, T, E) or (N, T, E) of one rank, got "
                            f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
    _refuse_transforms(query, key, value)
    # autocast's rule for SDPA (lower precision): float32, float16 and bfloat16 inputs are taken in autocast's
    # dtype, float64 as it is; the op computes in float32 still and returns autocast's dtype, as SDPA does
    adt = _autocast_dtype(query.device.type)
    if adt is not None:
        query, key, value = (t.to(adt) if t.dtype in _LOWERABLE else t for t in (query, key, value))
    dtype = query.dtype
    if dtype not in (torch.float32, torch.float64, torch.bfloat16, torch.float16) or key.dtype != dtype or \
            value.dtype != dtype:
        raise AttndropError(f"query, key and value must share one of float32, float64, bfloat16, float16, got "
                            f"{query.dtype}, {key.dtype}, {value.dtype}")
    dev = query.device
    if key.device != dev or value.device != dev:
        raise AttndropError(f"query, key and value must be on one device, got {query.device}, {key.device}, "
                            f"{value.device}")
    three = query.dim() == 3
    batch = tuple(query.shape[:-3]) if not three else tuple(query.shape[:1])
    H = 1 if three else query.shape[-3]
    Hk = 1 if three else key.shape[-3]
    Tq, E = query.shape[-2:]
    Tk, Ev = key.shape[-2], value.shape[-1]
    kbatch = tuple(key.shape[:-3]) if not three else tuple(key.shape[:1])
    vbatch = tuple(value.shape[:-3]) if not three else tuple(value.shape[:1])
    if kbatch != batch or vbatch != batch or key.shape[-1] != E or value.shape[-2] != Tk or \
            (not three and value.shape[-3] != Hk):
        raise AttndropError(f"query {tuple(query.shape)}, key {tuple(key.shape)} and value {tuple(value.shape)} are "
                            f"not (..., H, T_q, E), (..., H_kv, T_k, E), (..., H_kv, T_k, E_v) with one batch shape")
    if Hk != H:
        if not isinstance(enable_gqa, bool) or not enable_gqa:
            raise AttndropError(f"query has {H} heads, key and value {Hk}: pass enable_gqa=True for grouped-query "
                                f"attention")
        if Hk < 1 or H % Hk:
            raise AttndropError(f"enable_gqa: {H} query heads are not a multiple of {Hk} key/value heads")
    if not isinstance(is_causal, bool):
        raise AttndropError(f"is_causal must be a bool, got {is_causal!r}")
    if max(Tq, Tk) > _MAX_BLOCK:
        raise AttndropError(f"T_q and T_k must be at most {_MAX_BLOCK}, got {Tq} and {Tk}")
    if dev.type == "cuda":
        _cuda_ready(E)
    elif dev.type != "cpu":
        raise AttndropError(f"tensors on {dev} are not supported: the op runs on the CPU and, with a CUDA build of "
                            f"libattndrop, on CUDA devices")
    if not isinstance(scheme, str) or scheme not in SCHEMES:
        raise AttndropError(f"unknown scheme {scheme!r} (known: {', '.join(SCHEMES)})")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise AttndropError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if where(scheme) == "input":
        raise AttndropError(f"scheme {scheme} acts on the token embeddings, not on attention: use "
                            f"attndrop.torch.AttentionDropout.token_multipliers")
    rate = None
    if isinstance(dropout_p, torch.Tensor):
        # read inside the op (torch.compile traces it without a graph break); the call draws a key whatever its
        # value, which is not known here
        _check_rate(dropout_p)
        if dropout_p.requires_grad:
            raise AttndropError("dropout_p requires grad: attndrop computes no gradient for the rate (detach it)")
        rate = dropout_p.detach().reshape(1).to(device="cpu", dtype=torch.float64)
        p = 0.5  # a stand-in: the op reads the rate from the tensor
    else:
        p = float(dropout_p)
        if not 0.0 <= p < 1.0:
            raise AttndropError(f"dropout_p must be in [0, 1), got {dropout_p}")
    s = 1.0 / math.sqrt(E) if scale is None and E > 0 else 1.0 if scale is None else float(scale)
    if not math.isfinite(s):
        raise AttndropError(f"scale must be finite, got {scale}")
    cdtype = torch.float64 if dtype == torch.float64 else torch.float32
    B = 1
    for x in batch:
        B *= x
    mask = None
    if attn_mask is not None:
        mask = _mask_view(attn_mask, tuple(query.shape[:-1]) + (Tk,), B, H, cdtype)
        if mask.device != dev:
            raise AttndropError(f"attn_mask is on {mask.device}, query on {dev}")
    if min(B, Tq, Tk, E, Ev) == 0:  # nothing to drop: SDPA's definition, on tensors with no element
        if rate is not None:
            _rate(0.0, rate)  # checked all the same
        return _empty(query, key, value, mask, is_causal, s, H // max(Hk, 1), three)
    active = p > 0.0 and scheme != "none"
    if keys is not None:
        k = _exact_keys(keys)
    elif active:  # one draw from the generator, as nn.Dropout's one call to the RNG
        if generator is not None:  # on the generator's device (an op of its own, which torch.compile can trace)
            draw = _generator_key(query, generator)
        else:  # the CPU's by default, for CUDA tensors too (torch.manual_seed seeds it, torch.utils.checkpoint
            # saves it for every device, and the key needs no copy back from the GPU)
            draw = torch.randint(0, 2**63 - 1, (1,), dtype=torch.int64)
        k = torch.cat([draw, torch.zeros(3, dtype=torch.int64)])
    else:
        k = torch.zeros(4, dtype=torch.int64)
    q4 = query.unsqueeze(1) if three else query.reshape(B, H, Tq, E)
    k4 = key.unsqueeze(1) if three else key.reshape(B, Hk, Tk, E)
    v4 = value.unsqueeze(1) if three else value.reshape(B, Hk, Tk, Ev)
    if dtype != cdtype:
        q4, k4, v4 = q4.to(cdtype), k4.to(cdtype), v4.to(cdtype)
    pa = p if active else 0.0
    plain = is_causal and mask is None and Hk == H and Tq == Tk and Ev == E and cdtype == torch.float32 and s > 0
    if plain:
        out = _attention(q4, k4, v4, k, s, SCHEMES.index(scheme), pa, rate if active else None)
    else:
        if dev.type != "cpu":
            raise AttndropError("on CUDA the op fuses causal attention only (is_causal=True, no attn_mask, as many "
                                "key/value heads as query heads, T_q = T_k, E_v = E, float32/bfloat16/float16): "
                                "move the tensors to the CPU for the rest")
        out = _general(q4, k4, v4, mask, k, s, SCHEMES.index(scheme), pa, is_causal, rate if active else None)
    out = out.squeeze(1) if three else out.reshape(batch + (H, Tq, Ev))
    return out if dtype == cdtype else out.to(dtype)
