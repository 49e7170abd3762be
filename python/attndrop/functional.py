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
from typing import Optional, Sequence, Tuple, Union

import torch

from . import lib as _lib
from .errors import AttndropError
from .schemes import SCHEMES, where

__all__ = ["scaled_dot_product_attention"]

_MAX_BLOCK = 8192
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


def _scratch(T: int, D: int) -> Tuple[torch.Tensor, int]:
    lib = _lib.library()
    n = lib.ad_attention_scratch_floats(T, D, max(1, lib.ad_get_threads()))
    return torch.empty(n, dtype=torch.float32), n


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


_HAS_CUSTOM_OP = hasattr(torch, "library") and hasattr(torch.library, "custom_op") and \
    hasattr(torch.library, "register_autograd")

if _HAS_CUSTOM_OP:
    @torch.library.custom_op("attndrop::attention_fwd", mutates_args=(), device_types=("cpu", "cuda"))
    def _attention_fwd(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, keys: torch.Tensor, scale: float,
                       scheme: int, p: float) -> Tuple[torch.Tensor, torch.Tensor]:
        return _fwd_impl(q, k, v, keys, scale, scheme, p)

    @_attention_fwd.register_fake
    def _(q, k, v, keys, scale, scheme, p):
        B, H, T, D = q.shape
        return q.new_empty((B, H, T, D)), q.new_empty((B, H, T, 2))

    @torch.library.custom_op("attndrop::attention_bwd", mutates_args=(), device_types=("cpu", "cuda"))
    def _attention_bwd(grad: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, out: torch.Tensor,
                       stats: torch.Tensor, keys: torch.Tensor, scale: float, scheme: int,
                       p: float) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return _bwd_impl(grad, q, k, v, out, stats, keys, scale, scheme, p)

    @_attention_bwd.register_fake
    def _(grad, q, k, v, out, stats, keys, scale, scheme, p):
        return q.new_empty(q.shape), q.new_empty(q.shape), q.new_empty(q.shape)

    def _setup_context(ctx, inputs, output):
        q, k, v, keys, scale, scheme, p = inputs
        # the forward's out only where the backward reads it: the GPU's rows (D_i = dout_i . out_i)
        ctx.save_for_backward(q, k, v, output[0] if q.is_cuda else output[1], output[1], keys)
        ctx.att = (scale, scheme, p)

    def _backward(ctx, grad_out, grad_stats):
        q, k, v, out, stats, keys = ctx.saved_tensors
        dq, dk, dv = _attention_bwd(grad_out, q, k, v, out, stats, keys, *ctx.att)
        return dq, dk, dv, None, None, None, None

    torch.library.register_autograd("attndrop::attention_fwd", _backward, setup_context=_setup_context)

    def _attention(q, k, v, keys, scale, scheme, p):
        return _attention_fwd(q, k, v, keys, scale, scheme, p)[0]
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
        def backward(ctx, grad_out):
            q, k, v, out, stats, keys = ctx.saved_tensors
            dq, dk, dv = _bwd_impl(grad_out, q, k, v, out, stats, keys, *ctx.att)
            return dq, dk, dv, None, None, None, None

    def _attention(q, k, v, keys, scale, scheme, p):
        return _AttentionFunction.apply(q, k, v, keys, scale, scheme, p)


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


def scaled_dot_product_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                                 attn_mask: Optional[torch.Tensor] = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: Optional[float] = None, *,
                                 scheme: str = "standard", generator: Optional[torch.Generator] = None,
                                 keys: Optional[KeysLike] = None) -> torch.Tensor:
    """torch.nn.functional.scaled_dot_product_attention, causal, with `scheme`'s dropout at rate dropout_p.

    query, key, value: (B, H, T, D) tensors of one floating dtype on the CPU, or on one CUDA device with a
    libattndrop built by `make CUDA=1` (D <= 128; PyTorch's current stream), float32 computed as float32,
    bfloat16 and float16 in float32 and returned in their dtype. is_causal must be True and attn_mask None:
    attndrop fuses causal self-attention only (the kernels have no masks of other shapes). scale defaults to
    1/sqrt(D). dropout_p is applied whenever it is > 0, as SDPA does: pass 0.0 in evaluation. scheme: one of
    attndrop.SCHEMES except the input-level word and embedding. generator: where the call's key is drawn
    (default: PyTorch's). keys: (seed, step, layer[, row0]) for the C trainer's exact masks instead.
    Raises AttndropError (a ValueError) for anything it cannot compute.
    """
    if attn_mask is not None:
        raise AttndropError("attn_mask is not supported: attndrop fuses causal attention only (pass is_causal=True)")
    if not is_causal:
        raise AttndropError("is_causal must be True: attndrop fuses causal self-attention only")
    tensors = (query, key, value)
    if not all(isinstance(t, torch.Tensor) for t in tensors):
        raise AttndropError("query, key and value must be tensors")
    if query.dim() != 4 or key.shape != query.shape or value.shape != query.shape:
        raise AttndropError(f"query, key and value must be (B, H, T, D) of one shape, got {tuple(query.shape)}, "
                            f"{tuple(key.shape)}, {tuple(value.shape)}")
    B, H, T, D = query.shape
    if min(B, H, T, D) < 1 or T > _MAX_BLOCK:
        raise AttndropError(f"sizes must be >= 1 and T <= {_MAX_BLOCK}, got (B, H, T, D) = {tuple(query.shape)}")
    dtype = query.dtype
    if dtype not in (torch.float32, torch.bfloat16, torch.float16) or key.dtype != dtype or value.dtype != dtype:
        raise AttndropError(f"query, key and value must share one of float32, bfloat16, float16, got {query.dtype}, "
                            f"{key.dtype}, {value.dtype}")
    dev = query.device
    if key.device != dev or value.device != dev:
        raise AttndropError(f"query, key and value must be on one device, got {query.device}, {key.device}, "
                            f"{value.device}")
    if dev.type == "cuda":
        _cuda_ready(D)
    elif dev.type != "cpu":
        raise AttndropError(f"tensors on {dev} are not supported: the op runs on the CPU and, with a CUDA build of "
                            f"libattndrop, on CUDA devices")
    if not isinstance(scheme, str) or scheme not in SCHEMES:
        raise AttndropError(f"unknown scheme {scheme!r} (known: {', '.join(SCHEMES)})")
    if where(scheme) == "input":
        raise AttndropError(f"scheme {scheme} acts on the token embeddings, not on attention: use "
                            f"attndrop.torch.AttentionDropout.token_multipliers")
    p = float(dropout_p)
    if not 0.0 <= p < 1.0:
        raise AttndropError(f"dropout_p must be in [0, 1), got {dropout_p}")
    s = 1.0 / math.sqrt(D) if scale is None else float(scale)
    if not (math.isfinite(s) and s > 0.0):
        raise AttndropError(f"scale must be finite and > 0, got {scale}")
    active = p > 0.0 and scheme != "none"
    if keys is not None:
        k = _exact_keys(keys)
    elif active:  # one draw from the generator, as nn.Dropout's one call to the RNG
        # on the generator's device: the CPU's by default, for CUDA tensors too (torch.manual_seed seeds it,
        # torch.utils.checkpoint saves it for every device, and the key needs no copy back from the GPU)
        gdev = generator.device if generator is not None else torch.device("cpu")
        draw = torch.randint(0, 2**63 - 1, (1,), dtype=torch.int64, generator=generator, device=gdev)
        k = torch.cat([draw.cpu(), torch.zeros(3, dtype=torch.int64)])
    else:
        k = torch.zeros(4, dtype=torch.int64)
    if dtype != torch.float32:
        query, key, value = query.float(), key.float(), value.float()
    out = _attention(query, key, value, k, s, SCHEMES.index(scheme), p if active else 0.0)
    return out if dtype == torch.float32 else out.to(dtype)
