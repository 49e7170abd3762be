"""Philox4x32-10 (Salmon et al., SC 2011) with integer tensor operations, so
that it runs on any device PyTorch does, and attndrop's keyed streams: draw i
of the stream (seed, purpose, a, b, c) is word i mod 4 of
Philox(counter = (i // 4, a, b, purpose << 24 | c), key = (seed_lo, seed_hi)),
exactly as the C library draws it (docs/design.md, "Randomness").

Every value is held in int64 tensors between 0 and 2^32 - 1; products of two
32-bit words are formed from 16-bit halves so that nothing overflows.
"""
import torch

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK = 0xFFFFFFFF

# what a draw is for (the purposes of attndrop.h's ad_rng_purpose)
INIT, BATCH, EVAL, ATTN, RESID, FFN, SAMPLE, TEST, TASK = 1, 2, 3, 4, 5, 6, 7, 8, 9
ATTN_ROW, ATTN_KEY, HEAD, FCM, WORD, STATS = 10, 11, 12, 13, 14, 15


def _mulhilo(a, m):
    """(high, low) 32-bit words of the 64-bit product a * m, a a tensor, m a constant."""
    a_lo, a_hi = a & 0xFFFF, a >> 16
    t1, t2 = a_lo * m, a_hi * m  # each below 2^48
    lo = (t1 + ((t2 & 0xFFFF) << 16)) & MASK
    hi = ((t1 >> 16) + t2) >> 16
    return hi, lo


def philox4x32(c0, c1, c2, c3, k0, k1):
    """The four output words of Philox4x32-10 for counters (c0..c3) and key (k0, k1), tensors broadcast together."""
    c0, c1, c2, c3 = torch.broadcast_tensors(c0, c1, c2, c3)
    k0 = torch.as_tensor(k0, dtype=torch.int64, device=c0.device)
    k1 = torch.as_tensor(k1, dtype=torch.int64, device=c0.device)
    for rnd in range(10):
        if rnd > 0:
            k0 = (k0 + W0) & MASK
            k1 = (k1 + W1) & MASK
        hi0, lo0 = _mulhilo(c0, M0)
        hi1, lo1 = _mulhilo(c2, M1)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


class Stream:
    """A keyed stream of 32-bit draws; a, b, c may be int64 tensors (one stream each, broadcast)."""

    def __init__(self, seed, purpose, a, b, c, device=None):
        self.k0, self.k1 = seed & MASK, (seed >> 32) & MASK
        t = lambda v: torch.as_tensor(v, dtype=torch.int64, device=device)
        self.c1, self.c2 = t(a) & MASK, t(b) & MASK
        self.c3 = (t(purpose) << 24) | (t(c) & 0xFFFFFF)  # the purpose takes the top byte, as in the C library
        self.device = device

    def u32(self, i):
        """Draw(s) i (an int64 tensor, broadcast with the stream's own counters)."""
        i = torch.as_tensor(i, dtype=torch.int64, device=self.device)
        words = philox4x32(i >> 2, self.c1, self.c2, self.c3, self.k0, self.k1)
        w = torch.stack(torch.broadcast_tensors(*words), dim=-1)
        sel = torch.broadcast_to(i & 3, w.shape[:-1]).unsqueeze(-1)
        return torch.gather(w, -1, sel).squeeze(-1)

    def run(self, start, n):
        """Draws start .. start+n-1 (start an int64 tensor, broadcast with the stream's counters) along a new last
        axis of length n: whole Philox blocks, each computed once, as the C library's bern_run draws them."""
        start = torch.as_tensor(start, dtype=torch.int64, device=self.device)
        nb = (n + 3) // 4 + 1
        blocks = (start >> 2).unsqueeze(-1) + torch.arange(nb, dtype=torch.int64, device=start.device)
        c1, c2, c3 = (t.unsqueeze(-1) if t.dim() else t for t in (self.c1, self.c2, self.c3))
        words = torch.stack(torch.broadcast_tensors(*philox4x32(blocks, c1, c2, c3, self.k0, self.k1)), dim=-1)
        words = words.flatten(-2)  # (..., 4 nb): draws (start >> 2) * 4 onwards
        pos = (start & 3).unsqueeze(-1) + torch.arange(n, dtype=torch.int64, device=start.device)
        return torch.gather(words, -1, torch.broadcast_to(pos, words.shape[:-1] + (n,)))

    def uniform(self, i):
        """Uniform in [0, 1) with 53 bits, from draws 2i and 2i+1 (float64)."""
        i = torch.as_tensor(i, dtype=torch.int64, device=self.device)
        hi = (self.u32(2 * i) >> 5).to(torch.float64)
        lo = (self.u32(2 * i + 1) >> 6).to(torch.float64)
        return (hi * 67108864.0 + lo) * (1.0 / 9007199254740992.0)


def keep_threshold(p):
    """The threshold t of 'keep iff u32 >= t' for a rate p (a float32 rate, as the C library holds it)."""
    import math
    return int(math.floor(float(p) * 4294967296.0))
