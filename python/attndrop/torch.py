"""attndrop's attention-dropout schemes as PyTorch modules, with masks
bit-identical to the C library's for the same seed, step, layer, head and
batch row (attndrop.schemes draws them with the same Philox streams).

Two lines make nanoGPT's CausalSelfAttention use one (see docs/python.md):

    self.attn_dropout = AttentionDropout("nonzero", config.dropout, n_head=config.n_head, layer=i)
    att = self.attn_dropout(att)          # att: (B, n_head, T, T) softmax weights, as before
"""
from typing import Optional

import torch
import torch.nn as nn

from . import philox as ph
from .errors import UINT32_MAX, UINT64_MAX, AttndropError, check_bool, check_int, check_p
from .schemes import attention_masks, element_multipliers, input_multipliers, where


MAX_BLOCK = 8192    # the longest rows the C library draws masks for (src/model/model.c's AD_MAX_BLOCK)
MAX_HEADS = 4096    # as the C library's ad_drop_site_check
MAX_LAYER = 65535


def _check_step(mod):
    """The module's step and row0, which the masks' counters hold in 32 bits, checked before a draw."""
    check_int("step", mod.step, 0, UINT32_MAX)
    check_int("row0", mod.row0, 0, 2**31 - 1)


class AttentionDropout(nn.Module):
    """Dropout on attention weights by one of attndrop's 15 schemes, in training mode only.

    forward(wei) takes softmax weights, (B, n_head, T, T), or (B, T, T) for the one head `head` of a per-head
    module (gpt.py's Head), and returns them after the scheme: multiplied by its mask (post-softmax schemes)
    or with the dropped weights removed and the survivors renormalised, which is what masking their logits
    to -inf does (pre-softmax schemes; a row left with no survivor becomes 0, a row holding a NaN stays NaN).
    The input schemes (word, embedding) leave attention alone: use `token_multipliers` on the token embeddings.
    Any other shape (one that would broadcast against the masks), T above 8192, or weights that are not
    floating point raise AttndropError (a ValueError), in eval mode too.

    Randomness, with `seed=None` (the default), as nn.Dropout's: each training forward draws one 64-bit key
    from `generator` (or PyTorch's default generator), so torch.manual_seed governs the masks, checkpointing's
    recompute (which restores the RNG state) draws the same ones, and layers, micro-batches and ranks differ
    as their draws do; nothing has to be told its layer or step.

    With an integer `seed` (exact mode) the masks are the C trainer's for that seed at the module's `step`,
    `layer` and batch rows `row0`..: `step` is a buffer (in the state_dict, so a resumed run continues its
    masks); set it each step (`set_step` on a model sets every module's), or leave `auto_step` on and it counts
    the training forwards. `row0` is the first row of the batch when a batch is split over processes or
    micro-batches (micro-batch m of size b: row0 = m * b).

    The masks are drawn by the C library (ad_attention_masks, one call per tensor) where libattndrop loads,
    else by the package's pure-PyTorch Philox (attndrop.schemes), which gives the same bits.
    """

    def __init__(self, scheme: str = "standard", p: float = 0.2, n_head: int = 1, head: Optional[int] = None,
                 layer: int = 0, seed: Optional[int] = None, causal: bool = True, auto_step: bool = True,
                 generator: Optional[torch.Generator] = None):
        super().__init__()
        self.where = where(scheme)
        p = check_p("p", p)
        n_head = check_int("n_head", n_head, 1, MAX_HEADS)
        if head is not None:
            head = check_int("head", head)
            if not 0 <= head < n_head:
                raise AttndropError(f"head {head} is not one of the {n_head} heads")
        layer = check_int("layer", layer, 0, MAX_LAYER)
        seed = check_int("seed", seed, 0, UINT64_MAX) if seed is not None else None
        self.scheme, self.p, self.n_head, self.head, self.layer, self.seed = scheme, p, n_head, head, layer, seed
        self.causal, self.auto_step = check_bool("causal", causal), check_bool("auto_step", auto_step)
        self.generator, self.row0 = generator, 0
        self.register_buffer("_step", torch.zeros((), dtype=torch.int64))
        self._register_load_state_dict_pre_hook(_step_optional, with_module=True)

    @property
    def step(self) -> int:
        """The training step of exact mode's masks (a buffer: saved in the state_dict)."""
        return int(self._step)

    @step.setter
    def step(self, value: int) -> None:
        self._step.fill_(check_int("step", value, 0, UINT32_MAX))

    def extra_repr(self):
        return f"scheme={self.scheme}, p={self.p}, n_head={self.n_head}, head={self.head}, layer={self.layer}"

    def masks(self, B: int, T: int, device=None, seed: Optional[int] = None) -> torch.Tensor:
        """The masks, (B, n_head, T, T): multipliers, or 1/0 keeps of the logits for a pre-softmax scheme; exact
        mode's for this step, or with `seed` (a key drawn in generator mode) that key's."""
        B, T = check_int("B", B, 0, 2**31 - 1), check_int("T", T, 1, MAX_BLOCK)
        _check_step(self)
        if seed is None:
            if self.seed is None:
                raise AttndropError("masks() of a module in generator mode (seed=None) needs the key: masks(B, T, "
                                    "seed=k)")
            seed, step, layer, row0 = self.seed, self.step, self.layer, self.row0
        else:
            step, layer, row0 = 0, self.layer, 0
        m = _c_masks(self.scheme, self.p, seed, step, layer, self.n_head, T, B, row0, not self.causal) if B else None
        if m is None:
            m = attention_masks(self.scheme, self.p, seed, step, layer, self.n_head, T, B, row0, not self.causal)
        return m.to(device) if device is not None else m

    def _key(self) -> Optional[int]:
        """Generator mode: one draw, as nn.Dropout's call to the RNG; exact mode: None."""
        if self.seed is not None:
            return None
        return int(torch.randint(0, 2**63 - 1, (1,), dtype=torch.int64, generator=self.generator))

    def _check_shape(self, wei):
        if not isinstance(wei, torch.Tensor):
            raise AttndropError(f"the attention weights must be a tensor, got {type(wei).__name__}")
        shape = tuple(wei.shape)
        if wei.dim() == 3 and self.head is None:
            raise AttndropError(f"a (B, T, T) input needs the module's head index (got shape {shape}); a module of "
                                f"every head takes (B, n_head={self.n_head}, T, T)")
        want = "(B, T, T)" if wei.dim() == 3 else f"(B, n_head={self.n_head}, T, T)"
        ok = wei.dim() in (3, 4) and shape[-1] == shape[-2] and (wei.dim() == 3 or shape[1] == self.n_head)
        if not ok:
            raise AttndropError(f"the attention weights must be {want}"
                                f"{' or (B, T, T)' if self.head is not None and wei.dim() != 3 else ''}, got {shape}")
        if not 1 <= shape[-1] <= MAX_BLOCK:
            raise AttndropError(f"T must be in [1, {MAX_BLOCK}], got {shape[-1]}")
        if not wei.is_floating_point():
            raise AttndropError(f"the attention weights must be floating point, got {wei.dtype}")

    def forward(self, wei: torch.Tensor) -> torch.Tensor:
        self._check_shape(wei)
        if not self.training or self.where == "input" or self.scheme == "none" or self.p == 0.0:
            return wei
        per_head = wei.dim() == 3
        B, T = wei.shape[0], wei.shape[-1]
        m = self.masks(B, T, wei.device, seed=self._key())
        if per_head:
            m = m[:, self.head]
        m = m.to(wei.dtype)
        if self.where == "post":
            out = wei * m
        else:
            kept = wei * m
            total = kept.sum(-1, keepdim=True)
            # a row with survivors renormalised; one with none 0 (as the C library's ad_drop_row); a NaN (or Inf)
            # stays visible: its row comes out NaN, never 0
            live = (total > 0) | ~torch.isfinite(total)
            out = torch.where(live, kept / torch.where(live, total, torch.ones_like(total)), torch.zeros_like(kept))
        if self.auto_step and self.seed is not None:
            self._step += 1
        return out

    def token_multipliers(self, idx: torch.Tensor) -> torch.Tensor:
        """word/embedding dropout: (B, T) multipliers of the token embeddings of idx (B, T) integer ids in
        [0, 2^31) (ones in eval mode)."""
        if not isinstance(idx, torch.Tensor) or idx.dim() != 2 or idx.is_floating_point() or idx.is_complex() \
                or idx.dtype == torch.bool:
            raise AttndropError(f"idx must be a (B, T) tensor of integer ids, got "
                                f"{tuple(idx.shape) if isinstance(idx, torch.Tensor) else type(idx).__name__}"
                                f"{' of ' + str(idx.dtype) if isinstance(idx, torch.Tensor) else ''}")
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) > 2**31 - 1):
            raise AttndropError(f"idx: ids must be in [0, 2^31), got {int(idx.min())} .. {int(idx.max())}")
        if not self.training:
            return torch.ones(idx.shape, dtype=torch.float32, device=idx.device)
        _check_step(self)
        key = self._key()
        if key is None:
            return input_multipliers(self.scheme, self.p, self.seed, self.step, idx, self.row0)
        return input_multipliers(self.scheme, self.p, key, 0, idx, 0)


class ExactDropout(nn.Module):
    """nn.Dropout on a (B, T, C) activation with attndrop's masks: those of the dropout after the attention
    projection (site 'resid') or the feed-forward network ('ffn') of a layer. p must be in [0, 1)."""

    def __init__(self, p: float, site: str, layer: int = 0, seed: int = 1337, auto_step: bool = True):
        super().__init__()
        if site not in ("resid", "ffn"):
            raise AttndropError(f"site must be 'resid' or 'ffn', got {site!r}")
        p = check_p("p", p)
        layer, seed = check_int("layer", layer, 0, 2**32 - 1), check_int("seed", seed, 0, UINT64_MAX)
        self.p, self.purpose, self.layer, self.seed = p, ph.RESID if site == "resid" else ph.FFN, layer, seed
        self.auto_step, self.step, self.row0 = check_bool("auto_step", auto_step), 0, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 3 or not x.is_floating_point():
            raise AttndropError(f"ExactDropout takes a (B, T, C) floating-point tensor, got "
                                f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        if not self.training or self.p == 0.0:
            return x
        B, T, C = x.shape
        _check_step(self)
        m = element_multipliers(self.p, self.seed, self.purpose, self.step, self.layer, B, T, C, self.row0, x.device)
        if self.auto_step:
            self.step += 1
        return x * m.to(x.dtype)


class AttentionKeys(nn.Module):
    """The exact mode's keys of attndrop.functional.scaled_dot_product_attention, kept as a module buffer.

        self.keys = AttentionKeys(seed=1337, layer=i)            # in CausalSelfAttention.__init__
        y = attndrop.functional.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True,
                                                             scheme="nonzero", keys=self.keys())

    `keys` is an int64 buffer (seed, step, layer, row0), so it is in the state_dict (a resumed run continues
    the C trainer's masks from its step) and goes into the op as a tensor (torch.compile does not recompile
    when the step changes). Set the step at the top of each training step with `set_step(model, step)`, and
    `row0` for a rank or a micro-batch holding rows row0.. of the whole batch (micro-batch m of size b:
    row0 = m * b; rank r of R ranks with b rows each: row0 = r * b).
    """

    def __init__(self, seed: int = 1337, layer: int = 0, step: int = 0, row0: int = 0):
        super().__init__()
        seed = check_int("seed", seed, 0, UINT64_MAX)
        vals = [seed - (1 << 64) if seed >= 1 << 63 else seed, check_int("step", step, 0, UINT32_MAX),
                check_int("layer", layer, 0, MAX_LAYER), check_int("row0", row0, 0, 2**31 - 1)]
        self.register_buffer("keys", torch.tensor(vals, dtype=torch.int64))

    @property
    def step(self) -> int:
        return int(self.keys[1])

    @step.setter
    def step(self, value: int) -> None:
        with torch.no_grad():
            self.keys[1] = check_int("step", value, 0, UINT32_MAX)

    @property
    def row0(self) -> int:
        return int(self.keys[3])

    @row0.setter
    def row0(self, value: int) -> None:
        with torch.no_grad():
            self.keys[3] = check_int("row0", value, 0, 2**31 - 1)

    def extra_repr(self):
        seed = int(self.keys[0]) & UINT64_MAX
        return f"seed={seed}, step={self.step}, layer={int(self.keys[2])}, row0={self.row0}"

    def forward(self) -> torch.Tensor:
        """The keys tensor, for keys= of attndrop.functional.scaled_dot_product_attention."""
        return self.keys


def _step_optional(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                   error_msgs):
    """A state_dict saved before `step` was a buffer loads: the step stays as it is."""
    if prefix + "_step" not in state_dict:
        state_dict[prefix + "_step"] = module._step.detach().clone()


def _c_masks(scheme, p, seed, step, layer, n_head, T, B, row0, bidirectional) -> Optional[torch.Tensor]:
    """The masks by the C library (ad_attention_masks), or None where libattndrop does not load."""
    try:
        from . import lib as _lib
        L = _lib.library()
    except AttndropError:
        return None
    import ctypes
    from .schemes import SCHEMES
    out = torch.empty((B, n_head, T, T), dtype=torch.float32)
    site, err = _lib._Site(SCHEMES.index(scheme), p, seed, step, layer, n_head, T, int(bidirectional), row0), _lib._Error()
    if L.ad_attention_masks(out.data_ptr(), ctypes.byref(site), B, ctypes.byref(err)) != 0:
        raise AttndropError(err.msg.decode("utf-8", "replace"))
    return out


def set_step(model: nn.Module, step: int, row0: int = None) -> None:
    """Sets the step (and, if given, the batch's first row) of every attndrop module in model."""
    if not isinstance(model, nn.Module):
        raise AttndropError(f"set_step: model must be a torch.nn.Module, got {type(model).__name__}")
    step = check_int("step", step, 0, UINT32_MAX)
    row0 = check_int("row0", row0, 0, 2**31 - 1) if row0 is not None else None
    for mod in model.modules():
        if isinstance(mod, (AttentionDropout, ExactDropout, AttentionKeys)):
            mod.step = step
            if row0 is not None:
                mod.row0 = row0
