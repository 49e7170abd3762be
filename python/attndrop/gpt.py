"""The nanoGPT lecture's gpt.py model in PyTorch, parametrised by a config,
with attndrop's schemes and exact masks when the config names one, and
attndrop's checkpoint format (safetensors) read and written with numpy.

The module layout (and so the state_dict names) is gpt.py's: per-head
key/query/value Linear layers without bias, `proj`, a Sequential feed-forward
network, pre-LayerNorm blocks, `ln_f` and `lm_head`.
"""
import json
import struct

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F

from .schemes import where
from .torch import AttentionDropout, ExactDropout, set_step  # noqa: F401


def _scheme(cfg):
    """The config's attention-dropout scheme, or None for gpt.py's own nn.Dropout (PyTorch's random numbers)."""
    return cfg.get("attn_scheme")


class Head(nn.Module):
    def __init__(self, cfg, head_size, layer=0, head=0):
        super().__init__()
        n_embd, block_size = cfg["n_embd"], cfg["block_size"]
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))
        if _scheme(cfg) is None:
            self.dropout = nn.Dropout(cfg["dropout"])
        else:  # attndrop's masks: those of the C library for the same seed, step, layer, head and batch row
            self.dropout = AttentionDropout(_scheme(cfg), cfg.get("attn_dropout", cfg["dropout"]), n_head=cfg["n_head"],
                                            head=head, layer=layer, seed=cfg.get("seed", 1337))
        # Parity hooks, used in training only: attn_keep (B,T,T) masks logits
        # before the softmax (a row with no survivor becomes 0); attn_mult
        # (B,T,T) multiplies the softmax weights in place of self.dropout.
        self.attn_keep = None
        self.attn_mult = None

    def forward(self, x):
        B, T, C = x.shape
        k = self.key(x)
        q = self.query(x)
        wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        if self.training and self.attn_keep is not None:
            keep = self.attn_keep * self.tril[:T, :T]
            alive = keep.sum(-1, keepdim=True) > 0
            wei = wei.masked_fill((keep == 0) & alive, float("-inf"))
            wei = F.softmax(wei, dim=-1) * alive
        else:
            wei = F.softmax(wei, dim=-1)
        if self.training and self.attn_mult is not None:
            wei = wei * self.attn_mult
        else:
            wei = self.dropout(wei)
        v = self.value(x)
        return wei @ v


def _dropout(cfg, site, layer):
    if _scheme(cfg) is None:
        return nn.Dropout(cfg["dropout"])
    return ExactDropout(cfg["dropout"], site, layer, cfg.get("seed", 1337))


class MultiHeadAttention(nn.Module):
    def __init__(self, cfg, num_heads, head_size, layer=0):
        super().__init__()
        self.heads = nn.ModuleList([Head(cfg, head_size, layer, h) for h in range(num_heads)])
        self.proj = nn.Linear(head_size * num_heads, cfg["n_embd"])
        self.dropout = _dropout(cfg, "resid", layer)

    def forward(self, x):
        out = torch.cat([h(x) for h in self.heads], dim=-1)
        return self.dropout(self.proj(out))


class FeedForward(nn.Module):
    def __init__(self, cfg, layer=0):
        super().__init__()
        n = cfg["n_embd"]
        self.net = nn.Sequential(nn.Linear(n, 4 * n), nn.ReLU(), nn.Linear(4 * n, n), _dropout(cfg, "ffn", layer))

    def forward(self, x):
        return self.net(x)


class Block(nn.Module):
    def __init__(self, cfg, layer=0):
        super().__init__()
        n_embd, n_head = cfg["n_embd"], cfg["n_head"]
        self.sa = MultiHeadAttention(cfg, n_head, n_embd // n_head, layer)
        self.ffwd = FeedForward(cfg, layer)
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)

    def forward(self, x):
        x = x + self.sa(self.ln1(x))
        x = x + self.ffwd(self.ln2(x))
        return x


class GPTLanguageModel(nn.Module):
    """gpt.py's model. cfg: vocab_size, block_size, n_embd, n_head, n_layer, dropout, and optionally attn_scheme
    (one of attndrop's 15 schemes: every dropout mask is then the C library's), attn_dropout (its p; default
    dropout) and seed (of the masks, 1337). Call set_step(model, step) before each training step's forward."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.token_embedding_table = nn.Embedding(cfg["vocab_size"], cfg["n_embd"])
        self.position_embedding_table = nn.Embedding(cfg["block_size"], cfg["n_embd"])
        self.blocks = nn.Sequential(*[Block(cfg, l) for l in range(cfg["n_layer"])])
        self.ln_f = nn.LayerNorm(cfg["n_embd"])
        self.lm_head = nn.Linear(cfg["n_embd"], cfg["vocab_size"])
        self.apply(self._init_weights)
        self.tok_mult = None  # parity hook: (B,T) word/embedding dropout multipliers, training only
        self.input_dropout = None  # word/embedding dropout with attndrop's masks (an input scheme)
        if _scheme(cfg) is not None and where(_scheme(cfg)) == "input":
            self.input_dropout = AttentionDropout(_scheme(cfg), cfg.get("attn_dropout", cfg["dropout"]),
                                                  n_head=cfg["n_head"], seed=cfg.get("seed", 1337), auto_step=False)

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        tok_emb = self.token_embedding_table(idx)
        if self.training and self.tok_mult is not None:
            tok_emb = tok_emb * self.tok_mult.unsqueeze(-1)
        elif self.training and self.input_dropout is not None:
            tok_emb = tok_emb * self.input_dropout.token_multipliers(idx).unsqueeze(-1)
        pos_emb = self.position_embedding_table(torch.arange(T, device=idx.device))
        x = self.blocks(tok_emb + pos_emb)
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            return logits, None
        B, T, C = logits.shape
        loss = F.cross_entropy(logits.view(B * T, C), targets.view(B * T))
        return logits, loss

    @torch.no_grad()
    def generate_greedy(self, idx, max_new_tokens):
        """gpt.py's generate with argmax in place of multinomial sampling."""
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.cfg["block_size"]:])
            nxt = torch.argmax(logits[:, -1, :], dim=-1, keepdim=True)
            idx = torch.cat((idx, nxt), dim=1)
        return idx


def dropout_sites(model):
    """The model's dropout modules by site: (kind, layer, head) -> module, kind
    being 'attn' (on the softmax weights), 'resid' (after proj) or 'ffn'."""
    sites = {}
    for l, block in enumerate(model.blocks):
        for h, head in enumerate(block.sa.heads):
            sites[("attn", l, h)] = head.dropout
        sites[("resid", l, None)] = block.sa.dropout
        sites[("ffn", l, None)] = block.ffwd.net[3]
    return sites


class FixedMaskDropout(nn.Module):
    """nn.Dropout with a given keep mask: x * keep / (1 - p) in training."""

    def __init__(self, p):
        super().__init__()
        self.p = p
        self.keep = None

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        return x * self.keep / (1.0 - self.p)


def install_fixed_masks(model):
    """Replaces the proj and FFN nn.Dropout modules by FixedMaskDropout and the
    heads' attention dropout by the parity hooks (no dropout until set);
    returns the FixedMaskDropout modules by site ('resid'|'ffn', layer)."""
    p = model.cfg["dropout"]
    out = {}
    for l, block in enumerate(model.blocks):
        for head in block.sa.heads:
            head.dropout = nn.Identity()
        block.sa.dropout = out[("resid", l)] = FixedMaskDropout(p)
        block.ffwd.net[3] = out[("ffn", l)] = FixedMaskDropout(p)
    return out


# ------------------------------------------------------------ safetensors

_DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64, "U8": np.uint8}


def st_read(path):
    """Returns (tensors: name -> np.ndarray, metadata: dict)."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = buf[8 + n :]
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        arr = np.frombuffer(data[b:e], dtype=_DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = arr.copy()
    return out, meta


def st_write(path, tensors, metadata=None):
    """Writes F32 tensors (name -> array) with string metadata."""
    header = {}
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    blobs, off = [], 0
    for name, arr in tensors.items():
        a = np.ascontiguousarray(np.asarray(arr, dtype=np.float32))
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_checkpoint(path, exact_masks=False, seed=1337):
    """Builds gpt.py's model from an attndrop checkpoint; returns (model, vocab string). With exact_masks the
    model draws attndrop's masks for the checkpoint's scheme (seed `seed`); without, gpt.py's nn.Dropout."""
    tensors, meta = st_read(path)
    if meta.get("format") != "attndrop":
        raise ValueError(f"{path}: not an attndrop checkpoint (format {meta.get('format')!r})")
    cfg = json.loads(meta["config"])
    vocab = json.loads(meta["vocab"])
    if not exact_masks:
        cfg.pop("attn_scheme", None)
    elif cfg.get("dropout_schedule", "constant") != "constant":
        raise ValueError(f"{path}: exact masks need the constant dropout schedule, not {cfg['dropout_schedule']}")
    else:
        cfg["seed"] = seed
    model = GPTLanguageModel(cfg)
    state = {k: torch.from_numpy(v) for k, v in tensors.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or not all(k.endswith(".tril") for k in missing):
        raise ValueError(f"{path}: tensors do not match gpt.py's model (unexpected {unexpected}, missing {missing})")
    return model, vocab


def save_checkpoint(model, vocab, path):
    """Writes the model in attndrop's checkpoint layout (gpt.py's state_dict names, the config and vocabulary in
    the metadata), which `attndrop sample` and `attndrop eval` read."""
    c = model.cfg
    cfg = {k: c[k] for k in ("vocab_size", "block_size", "n_embd", "n_head", "n_layer", "dropout")}
    cfg.update(attn_scheme=c.get("attn_scheme") or "standard", attn_dropout=c.get("attn_dropout", c["dropout"]),
               dropout_schedule="constant")
    tensors = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items() if not k.endswith(".tril")}
    st_write(path, tensors, {"format": "attndrop", "version": "1", "config": json.dumps(cfg), "vocab": json.dumps(vocab)})
