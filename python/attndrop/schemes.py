"""The 15 attention-dropout schemes' masks, drawn exactly as the C library
draws them (src/schemes/dropout.c): the same Philox streams, counters and
arithmetic, so a mask here equals attndrop's for the same seed, step, layer,
head and batch row. All functions are vectorised over batch rows, heads and
attention rows, and run on the device of `device`.
"""
import math

import torch

from . import philox as ph
from .errors import AttndropError

# in the order of attndrop.h's ad_scheme
SCHEMES = ["none", "standard", "masked", "nonzero", "keepdiag", "fixedcount", "renorm", "column", "token", "word",
           "embedding", "dropkey", "fcm", "head", "symmetric"]
PRE = {"renorm", "dropkey", "fcm"}     # mask logits before the softmax
INPUT = {"word", "embedding"}          # act on the token embeddings


def where(scheme):
    """'post' (multiplies softmax weights), 'pre' (masks logits) or 'input' (token embeddings)."""
    if not isinstance(scheme, str) or scheme not in SCHEMES:
        raise AttndropError(f"unknown scheme '{scheme}' (known: {', '.join(SCHEMES)})")
    return "pre" if scheme in PRE else "input" if scheme in INPUT else "post"


def _f32(x):
    return torch.tensor(x, dtype=torch.float32)


def _grid(B, H, T, row0, device):
    b = (row0 + torch.arange(B, dtype=torch.int64, device=device)).view(B, 1, 1, 1)
    h = torch.arange(H, dtype=torch.int64, device=device).view(1, H, 1, 1)
    i = torch.arange(T, dtype=torch.int64, device=device).view(1, 1, T, 1)
    j = torch.arange(T, dtype=torch.int64, device=device).view(1, 1, 1, T)
    return b, h, i, j


def _conditional(p, seed, step, layer, b, h, i, j, T, n, thresh, device):
    """keep (1/0) of each row: Bernoulli(1-p) conditioned on a survivor, the first survivor k drawn by inversion."""
    row = ph.Stream(seed, ph.ATTN_ROW, step, (layer << 16) | h, b, device)
    el = ph.Stream(seed, ph.ATTN, step, ((layer << 16) | h).squeeze(-1), b.squeeze(-1), device)
    pn = torch.pow(torch.tensor(p, dtype=torch.float64, device=device), n.to(torch.float64))
    u = row.uniform(i * (T + 2))
    x = torch.ceil(torch.log1p(-u * (1.0 - pn)) / math.log(p)) - 1.0
    k = torch.clamp(x, min=0.0)
    k = torch.minimum(k, (n - 1).to(torch.float64)).to(torch.int64)
    keep = (el.run((i * T).squeeze(-1), T) >= thresh).to(torch.float32)
    keep = torch.where(j < k, torch.zeros_like(keep), keep)
    return torch.where(j == k, torch.ones_like(keep), keep)


def _fixedcount(p, seed, step, layer, b, h, i, T, n, device):
    """multipliers of each row: exactly round(p n) of its n weights dropped (a partial Fisher-Yates), n/kept on the rest."""
    row = ph.Stream(seed, ph.ATTN_ROW, step, (layer << 16) | h, b, device)
    base = i * (T + 2)
    x = float(p) * n.to(torch.float64)
    kd = torch.floor(x).to(torch.int64)
    kd = kd + (row.uniform(base) < x - kd.to(torch.float64)).to(torch.int64)
    kd = torch.minimum(kd, n - 1)
    shape = torch.broadcast_shapes(b.shape, h.shape, i.shape)
    kd = torch.broadcast_to(kd, shape)
    idx = torch.broadcast_to(torch.arange(T, dtype=torch.int64, device=device), shape[:-1] + (T,)).clone()
    first = 2 * (base + 1)
    nb = torch.broadcast_to(n, shape)
    for r in range(T - 1):
        if not bool((kd > r).any()):
            break
        hi, lo = row.u32(first + 2 * r), row.u32(first + 2 * r + 1)
        m = torch.clamp(nb - r, min=1)
        t = r + (((hi * m) + ((lo * m) >> 32)) >> 32)  # (u64 * m) >> 64, from 32-bit halves
        t = torch.broadcast_to(t, shape)
        active = kd > r
        t = torch.where(active, t, torch.full_like(t, r))
        a_r = idx[..., r:r + 1].clone()
        a_t = torch.gather(idx, -1, t)
        idx[..., r:r + 1] = a_t
        idx.scatter_(-1, t, a_r)
    keep_value = nb.to(torch.float32) / (nb - kd).to(torch.float32)
    j = torch.arange(T, dtype=torch.int64, device=device)
    dropped = torch.zeros(shape[:-1] + (T,), dtype=torch.bool, device=device)
    ranks = torch.broadcast_to(j, dropped.shape)
    dropped.scatter_(-1, idx, ranks < kd)  # position idx[r] is dropped iff r < kd
    return torch.where(dropped, torch.zeros_like(keep_value), keep_value)


def attention_masks(scheme, p, seed, step, layer, n_head, T, B, row0=0, bidirectional=False, device=None):
    """The masks of one layer's attention in one training step, (B, H, T, T) float32: for a post-softmax scheme
    the multiplier of each weight (0 when dropped), for a pre-softmax one 1 where the logit is kept and 0 where
    it becomes -inf. Batch row b is row row0 + b of the step's batch. Entries past a causal row are 0; `none`,
    the input schemes and p = 0 give ones."""
    where(scheme)
    p = float(torch.tensor(p, dtype=torch.float32))  # the rate as the C library holds it (float)
    ones = torch.ones(B, n_head, T, T, dtype=torch.float32, device=device)
    b, h, i, j = _grid(B, n_head, T, row0, device)
    n = torch.full_like(i, T) if bidirectional else i + 1
    inside = (j < n).to(torch.float32)
    if scheme == "none" or scheme in INPUT or not p > 0.0:
        return ones * inside
    thresh = ph.keep_threshold(p)
    scale = (_f32(1.0) / (_f32(1.0) - _f32(p))).to(device)
    lh = (layer << 16) | h
    bern = lambda stream, idx, value: torch.where(stream.u32(idx) >= thresh, value, torch.zeros_like(value))
    # a row's draws start .. start+T-1 in whole Philox blocks (i, the row, has a size-1 last axis)
    brun = lambda stream, start, value: torch.where(stream.run(start.squeeze(-1), T) >= thresh, value,
                                                    torch.zeros_like(value))
    if scheme in ("standard", "keepdiag"):
        m = brun(ph.Stream(seed, ph.ATTN, step, lh.squeeze(-1), b.squeeze(-1), device), i * T, scale)
        if scheme == "keepdiag":
            m = torch.where(j == i, torch.ones_like(m), m)
    elif scheme == "masked" or (scheme == "symmetric" and not bidirectional):
        packed = i * T if bidirectional else i * (i + 1) // 2
        m = brun(ph.Stream(seed, ph.ATTN, step, lh.squeeze(-1), b.squeeze(-1), device), packed, scale)
    elif scheme == "symmetric":
        lo, hi = torch.minimum(i, j), torch.maximum(i, j)
        m = bern(ph.Stream(seed, ph.ATTN, step, lh, b, device), hi * (hi + 1) // 2 + lo, scale)
    elif scheme in ("nonzero", "dropkey"):
        keep = _conditional(p, seed, step, layer, b, h, i, j, T, n, thresh, device)
        if scheme == "dropkey":
            m = keep
        else:
            c = ((1.0 - torch.pow(torch.tensor(p, dtype=torch.float64, device=device), n.to(torch.float64))) / (1.0 - p))
            m = keep * c.to(torch.float32)
    elif scheme == "fixedcount":
        m = _fixedcount(p, seed, step, layer, b, h, i, T, n, device)
    elif scheme in ("column", "token"):
        field = torch.full_like(h, 0xFFFF) if scheme == "token" else h
        m = bern(ph.Stream(seed, ph.ATTN_KEY, step, (layer << 16) | field, b, device), j, scale)  # one draw per key
    elif scheme == "head":
        hs = torch.arange(n_head, dtype=torch.int64, device=device)
        hk = ph.Stream(seed, ph.HEAD, step, layer, b.view(-1, 1), device).u32(hs.view(1, -1)) >= thresh  # (B, H)
        kept = hk.sum(-1, keepdim=True)
        val = torch.where(hk, _f32(n_head).to(device) / kept.to(torch.float32), torch.zeros(1, device=device))
        val = torch.where(kept == 0, torch.ones_like(val), val)
        m = val.view(B, n_head, 1, 1) * ones
    elif scheme == "renorm":
        m = brun(ph.Stream(seed, ph.ATTN, step, lh.squeeze(-1), b.squeeze(-1), device), i * T, torch.ones(1, device=device))
    elif scheme == "fcm":
        fr = ph.Stream(seed, ph.FCM, step, 0, b, device)
        rate = p * fr.uniform(torch.zeros_like(b))
        t = torch.floor(rate * 4294967296.0).to(torch.int64)
        m = (fr.u32(2 + j) >= t).to(torch.float32)
        m = torch.where(j == 0, torch.ones_like(m), m)
    return torch.broadcast_to(m, ones.shape) * inside


def input_multipliers(scheme, p, seed, step, idx, row0=0):
    """word and embedding dropout: the (B, T) multipliers of the token embeddings of idx (B, T) ids (ones for the
    other schemes and p = 0)."""
    where(scheme)
    B, T = idx.shape
    p = float(torch.tensor(p, dtype=torch.float32))
    if scheme not in INPUT or not p > 0.0:
        return torch.ones(B, T, dtype=torch.float32, device=idx.device)
    thresh = ph.keep_threshold(p)
    scale = (_f32(1.0) / (_f32(1.0) - _f32(p))).to(idx.device)
    b = (row0 + torch.arange(B, dtype=torch.int64, device=idx.device)).view(B, 1)
    k = 0 if scheme == "word" else 1
    key = torch.arange(T, device=idx.device).view(1, T) if scheme == "word" else idx.to(torch.int64)
    u = ph.Stream(seed, ph.WORD, step, k, b, idx.device).u32(key)
    return torch.where(u >= thresh, scale, torch.zeros_like(scale))


def element_multipliers(p, seed, purpose, step, layer, B, T, C, row0=0, device=None):
    """gpt.py's nn.Dropout after the projection (purpose RESID) or the feed-forward network (FFN), as attndrop
    draws it: the (B, T, C) multipliers, element t*C + c of batch row b."""
    p = float(torch.tensor(p, dtype=torch.float32))
    if not p > 0.0:
        return torch.ones(B, T, C, dtype=torch.float32, device=device)
    thresh = ph.keep_threshold(p)
    scale = (_f32(1.0) / (_f32(1.0) - _f32(p))).to(device)
    b = (row0 + torch.arange(B, dtype=torch.int64, device=device)).view(B, 1)
    starts = torch.arange(T, dtype=torch.int64, device=device).view(1, T) * C
    u = ph.Stream(seed, purpose, step, layer, b, device).run(starts, C)  # (B, T, C)
    return torch.where(u >= thresh, scale, torch.zeros_like(scale))
