"""gptpy.py - the nanoGPT lecture's gpt.py model in PyTorch, parametrised by a
config, and a small safetensors reader/writer in numpy. The parity tests and
the benchmark compare attndrop against this model.

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


class Head(nn.Module):
    def __init__(self, cfg, head_size):
        super().__init__()
        n_embd, block_size = cfg["n_embd"], cfg["block_size"]
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))
        self.dropout = nn.Dropout(cfg["dropout"])
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


class MultiHeadAttention(nn.Module):
    def __init__(self, cfg, num_heads, head_size):
        super().__init__()
        self.heads = nn.ModuleList([Head(cfg, head_size) for _ in range(num_heads)])
        self.proj = nn.Linear(head_size * num_heads, cfg["n_embd"])
        self.dropout = nn.Dropout(cfg["dropout"])

    def forward(self, x):
        out = torch.cat([h(x) for h in self.heads], dim=-1)
        return self.dropout(self.proj(out))


class FeedForward(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        n = cfg["n_embd"]
        self.net = nn.Sequential(nn.Linear(n, 4 * n), nn.ReLU(), nn.Linear(4 * n, n), nn.Dropout(cfg["dropout"]))

    def forward(self, x):
        return self.net(x)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        n_embd, n_head = cfg["n_embd"], cfg["n_head"]
        self.sa = MultiHeadAttention(cfg, n_head, n_embd // n_head)
        self.ffwd = FeedForward(cfg)
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)

    def forward(self, x):
        x = x + self.sa(self.ln1(x))
        x = x + self.ffwd(self.ln2(x))
        return x


class GPTLanguageModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.token_embedding_table = nn.Embedding(cfg["vocab_size"], cfg["n_embd"])
        self.position_embedding_table = nn.Embedding(cfg["block_size"], cfg["n_embd"])
        self.blocks = nn.Sequential(*[Block(cfg) for _ in range(cfg["n_layer"])])
        self.ln_f = nn.LayerNorm(cfg["n_embd"])
        self.lm_head = nn.Linear(cfg["n_embd"], cfg["vocab_size"])
        self.apply(self._init_weights)
        self.tok_mult = None  # parity hook: (B,T) word/embedding dropout multipliers, training only

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


def load_checkpoint(path):
    """Builds gpt.py's model from an attndrop checkpoint; returns (model, vocab
    string). The tril buffers must be the only keys missing."""
    tensors, meta = st_read(path)
    assert meta.get("format") == "attndrop", "not an attndrop checkpoint"
    cfg = json.loads(meta["config"])
    vocab = json.loads(meta["vocab"])
    model = GPTLanguageModel(cfg)
    state = {k: torch.from_numpy(v) for k, v in tensors.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected, f"unexpected keys {unexpected}"
    assert all(k.endswith(".tril") for k in missing), f"missing keys {missing}"
    return model, vocab
