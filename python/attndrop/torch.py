"""attndrop's attention-dropout schemes as PyTorch modules, with masks
bit-identical to the C library's for the same seed, step, layer, head and
batch row (attndrop.schemes draws them with the same Philox streams).

Two lines make nanoGPT's CausalSelfAttention use one (see docs/python.md):

    self.attn_dropout = AttentionDropout("nonzero", config.dropout, n_head=config.n_head, layer=i)
    att = self.attn_dropout(att)          # att: (B, n_head, T, T) softmax weights, as before
"""
import torch
import torch.nn as nn

from . import philox as ph
from .schemes import attention_masks, element_multipliers, input_multipliers, where


class AttentionDropout(nn.Module):
    """Dropout on attention weights by one of attndrop's 15 schemes, in training mode only.

    forward(wei) takes softmax weights, (B, n_head, T, T), or (B, T, T) for the one head `head` of a per-head
    module (gpt.py's Head), and returns them after the scheme: multiplied by its mask (post-softmax schemes)
    or with the dropped weights removed and the survivors renormalised, which is what masking their logits
    to -inf does (pre-softmax schemes; a row left with no survivor becomes 0). The input schemes (word,
    embedding) leave attention alone: use `token_multipliers` on the token embeddings.

    `step` is the training step the masks belong to: set it each step (`set_step` on a model sets every
    module's), or leave `auto_step` on and it counts the training forwards. `row0` is the first row of the
    batch when a batch is split over processes.
    """

    def __init__(self, scheme="standard", p=0.2, n_head=1, head=None, layer=0, seed=1337, causal=True, auto_step=True):
        super().__init__()
        self.where = where(scheme)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"p must be in [0, 1), got {p}")
        if head is not None and not 0 <= head < n_head:
            raise ValueError(f"head {head} is not one of the {n_head} heads")
        self.scheme, self.p, self.n_head, self.head, self.layer, self.seed = scheme, p, n_head, head, layer, seed
        self.causal, self.auto_step, self.step, self.row0 = causal, auto_step, 0, 0

    def extra_repr(self):
        return f"scheme={self.scheme}, p={self.p}, n_head={self.n_head}, head={self.head}, layer={self.layer}"

    def masks(self, B, T, device=None):
        """This step's masks, (B, n_head, T, T): multipliers, or 1/0 keeps of the logits for a pre-softmax scheme."""
        return attention_masks(self.scheme, self.p, self.seed, self.step, self.layer, self.n_head, T, B, self.row0,
                               not self.causal, device)

    def forward(self, wei):
        if not self.training or self.where == "input" or self.scheme == "none" or self.p == 0.0:
            return wei
        per_head = wei.dim() == 3
        if per_head and self.head is None:
            raise ValueError("a (B, T, T) input needs the module's head index")
        B, T = wei.shape[0], wei.shape[-1]
        m = self.masks(B, T, wei.device)
        if per_head:
            m = m[:, self.head]
        m = m.to(wei.dtype)
        if self.where == "post":
            out = wei * m
        else:
            kept = wei * m
            total = kept.sum(-1, keepdim=True)
            out = torch.where(total > 0, kept / torch.where(total > 0, total, torch.ones_like(total)), torch.zeros_like(kept))
        if self.auto_step:
            self.step += 1
        return out

    def token_multipliers(self, idx):
        """word/embedding dropout: (B, T) multipliers of the token embeddings of idx (ones in eval mode)."""
        if not self.training:
            return torch.ones(idx.shape, dtype=torch.float32, device=idx.device)
        return input_multipliers(self.scheme, self.p, self.seed, self.step, idx, self.row0)


class ExactDropout(nn.Module):
    """nn.Dropout on a (B, T, C) activation with attndrop's masks: those of the dropout after the attention
    projection (site 'resid') or the feed-forward network ('ffn') of a layer."""

    def __init__(self, p, site, layer=0, seed=1337, auto_step=True):
        super().__init__()
        if site not in ("resid", "ffn"):
            raise ValueError(f"site must be 'resid' or 'ffn', got {site!r}")
        self.p, self.purpose, self.layer, self.seed = p, ph.RESID if site == "resid" else ph.FFN, layer, seed
        self.auto_step, self.step, self.row0 = auto_step, 0, 0

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        B, T, C = x.shape
        m = element_multipliers(self.p, self.seed, self.purpose, self.step, self.layer, B, T, C, self.row0, x.device)
        if self.auto_step:
            self.step += 1
        return x * m.to(x.dtype)


def set_step(model, step, row0=None):
    """Sets the step (and, if given, the batch's first row) of every attndrop module in model."""
    for mod in model.modules():
        if isinstance(mod, (AttentionDropout, ExactDropout)):
            mod.step = step
            if row0 is not None:
                mod.row0 = row0
