"""The nanoGPT lecture's gpt.py model in PyTorch, parametrised by a config,
with attndrop's schemes and exact masks when the config names one, and
attndrop's checkpoint format (safetensors) read and written with numpy.

The module layout (and so the state_dict names) is gpt.py's: per-head
key/query/value Linear layers without bias, `proj`, a Sequential feed-forward
network, pre-LayerNorm blocks, `ln_f` and `lm_head`.
"""
import json
import math
import os
import re
import stat
import struct

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F

from .errors import AttndropError, check_int, check_p, one_line
from .schemes import SCHEMES, where
from .torch import AttentionDropout, ExactDropout, set_step  # noqa: F401


def _check_model_cfg(cfg) -> None:
    """gpt.py's hyperparameters as the C library's ad_config_check takes them; AttndropError naming the bad one."""
    if not isinstance(cfg, dict):
        raise AttndropError(f"the config must be a dict of gpt.py's hyperparameters, got {type(cfg).__name__}")
    for k in ("vocab_size", "block_size", "n_embd", "n_head", "n_layer", "dropout"):
        if k not in cfg:
            raise AttndropError(f"the config has no '{k}'")
    for k, hi in (("vocab_size", _MAX_DIM), ("block_size", _MAX_BLOCK), ("n_embd", _MAX_DIM), ("n_head", _MAX_DIM),
                  ("n_layer", _MAX_DIM)):
        check_int(k, cfg[k], 1, hi)
    if cfg["n_embd"] % cfg["n_head"]:
        raise AttndropError(f"n_embd ({cfg['n_embd']}) must be divisible by n_head ({cfg['n_head']})")
    check_p("dropout", cfg["dropout"])
    if cfg.get("attn_dropout") is not None:
        check_p("attn_dropout", cfg["attn_dropout"])


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
        _check_model_cfg(cfg)
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

# the dtypes of the safetensors format (as src/io/safetensors.c knows them), little-endian; BF16 has no numpy dtype
_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
           "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
_DTYPE_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4,
               "U16": 2, "U8": 1, "BOOL": 1}
ST_MAX_HEADER = 100 * 1024 * 1024   # as the C reader
_ST_NAME_MAX, _ST_META_KEY_MAX = 127, 63


class _Pairs(dict):
    """A JSON object: its first value for each key (as cJSON finds it), and every pair in order."""

    def __init__(self, pairs):
        super().__init__()
        self.pairs = pairs
        for k, v in pairs:
            self.setdefault(k, v)


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


_JSON = json.JSONDecoder(object_pairs_hook=_Pairs, parse_constant=_no_constant)


def _json_prefix(text):
    """The JSON value at the start of text (after whitespace) and where it ends, as cJSON_Parse reads it (what
    follows is not looked at); ValueError if there is none."""
    i = len(text) - len(text.lstrip(" \t\n\r"))
    return _JSON.raw_decode(text, i)


def _json_uint(v, limit=2**53):
    """A JSON number that is a non-negative integer of at most limit (src/io/safetensors.c's json_uint), or None."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    if isinstance(v, float) and not (math.isfinite(v) and v == int(v)):
        return None
    return int(v) if 0 <= v <= limit else None


def _open_regular(path):
    """The bytes of a regular file: anything else (a FIFO, a device, a directory) is refused before it is read."""
    try:
        st = os.stat(path)
    except (OSError, ValueError, TypeError) as e:
        raise AttndropError(f"cannot open '{path}': {getattr(e, 'strerror', None) or one_line(e)}") from None
    if not stat.S_ISREG(st.st_mode):
        raise AttndropError(f"'{path}' is not a regular file ({_kind(st.st_mode)})")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise AttndropError(f"cannot open '{path}': {e.strerror}") from None
    try:
        st = os.fstat(fd)  # what was opened, which may not be what was looked at
        if not stat.S_ISREG(st.st_mode):
            raise AttndropError(f"'{path}' is not a regular file ({_kind(st.st_mode)})")
        os.set_blocking(fd, True)
        size, chunks, got = st.st_size, [], 0
        while got < size:  # no more than the size it had: a file that grows is read as it was
            b = os.read(fd, min(size - got, 1 << 24))
            if not b:
                break
            chunks.append(b)
            got += len(b)
    except OSError as e:
        raise AttndropError(f"cannot read '{path}': {e.strerror}") from None
    except MemoryError:
        raise AttndropError(f"cannot allocate {size} bytes for '{path}'") from None
    finally:
        os.close(fd)
    if got != size:
        raise AttndropError(f"cannot read '{path}': it has {got} bytes, not the {size} it had")
    return b"".join(chunks)


def _kind(mode):
    return ("a directory" if stat.S_ISDIR(mode) else "a pipe" if stat.S_ISFIFO(mode) else
            "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else
            "not a file")


_ST_MAX_DEPTH = 64
# the header cut into contiguous tokens, as the C scan walks it: a JSON string (characters that are not a quote,
# a backslash or a control character, and escapes: a backslash and the character after it), a run outside
# strings, or a quote that starts no string (one holding a control character, or never closed)
_ST_TOKENS = re.compile(r'("(?:[^"\\\x00-\x1f]|\\[\s\S])*")|([^"]+)|(")')


def _header_scan(text: str) -> None:
    """The header checked as the C reader checks it before cJSON reads it (src/io/safetensors.c, header_scan), so
    that both readers take one file the same way: no control character and no \\u0000 escape inside a string,
    arrays and objects nested at most 64 deep (the caller decoded it as strict UTF-8). Raises ValueError."""
    outside = []
    for string, run, lone in _ST_TOKENS.findall(text):
        if string:
            if "\\u0000" in string.replace("\\\\", "\x01\x01"):
                raise ValueError("the header holds a NUL character (\\u0000) in a string")
        elif lone:  # cJSON refuses such a string too
            raise ValueError("the header holds a control character inside a string, or a string never closed")
        else:
            outside.append(run)
    b = np.frombuffer("".join(outside).encode("utf-8"), dtype=np.uint8)
    step = np.isin(b, (0x5B, 0x7B)).astype(np.int64) - np.isin(b, (0x5D, 0x7D)).astype(np.int64)
    if step.size and int(np.cumsum(step).max()) > _ST_MAX_DEPTH:
        raise ValueError("the header nests arrays and objects more than 64 deep")


def _st_parse(buf):
    """Checks a safetensors file as src/io/safetensors.c does; returns (header entries [(name, dtype, shape, begin,
    end)], metadata pairs, data offset). Raises ValueError saying what is wrong."""
    size = len(buf)
    if size < 8:
        raise ValueError(f"file of {size} bytes is too short for a safetensors header")
    (hlen,) = struct.unpack("<Q", buf[:8])
    if hlen > size - 8:
        raise ValueError(f"header length {hlen} goes beyond the end of the file ({size} bytes)")
    if hlen > ST_MAX_HEADER:
        raise ValueError(f"header length {hlen} exceeds 100 MB")
    if hlen < 2 or buf[8:9] != b"{":
        raise ValueError("the header is not a JSON object")
    data_size = size - 8 - hlen
    try:
        text = buf[8:8 + hlen].decode("utf-8")
    except ValueError:
        raise ValueError("the header is not valid UTF-8") from None
    _header_scan(text)
    try:
        root, end = _JSON.raw_decode(text, 0)
    except (ValueError, RecursionError):
        raise ValueError("the header is not valid JSON") from None
    if not isinstance(root, _Pairs):
        raise ValueError("the header is not valid JSON")
    if text[end:].strip(" \0"):
        raise ValueError("the header has trailing bytes after its JSON object")
    tensors, meta, seen_meta, names = [], [], False, set()
    for name, e in root.pairs:
        _utf8(name)
        if name == "__metadata__":
            if seen_meta:
                raise ValueError("__metadata__ appears twice")
            seen_meta = True
            if not isinstance(e, _Pairs):
                raise ValueError("__metadata__ is not an object")
            for k, v in e.pairs:
                if not isinstance(v, str):
                    raise ValueError(f"__metadata__ value '{k[:60]}' is not a string")
                if len(_utf8(k)) > _ST_META_KEY_MAX:
                    raise ValueError(f"__metadata__ key '{k[:60]}...' is too long")
                _utf8(v)
                meta.append((k, v))
            continue
        if len(_utf8(name)) > _ST_NAME_MAX:
            raise ValueError(f"tensor name '{name[:60]}...' is too long")
        if not isinstance(e, _Pairs):
            raise ValueError(f"tensor '{name}' is not an object")
        dt, sh, off = e.get("dtype"), e.get("shape"), e.get("data_offsets")
        if not isinstance(dt, str) or dt not in _DTYPE_SIZE:
            raise ValueError(f"tensor '{name}' has no known dtype")
        if not isinstance(sh, list) or len(sh) > 8:
            raise ValueError(f"tensor '{name}' has no shape of at most 8 dimensions")
        shape, numel = [], 1
        for d in sh:
            v = _json_uint(d)
            if v is None:
                raise ValueError(f"tensor '{name}' has a dimension that is not a non-negative integer")
            numel *= v
            if numel > 2**64 - 1:
                raise ValueError(f"tensor '{name}': the product of its dimensions overflows")
            shape.append(v)
        b0 = _json_uint(off[0]) if isinstance(off, list) and len(off) == 2 else None
        b1 = _json_uint(off[1]) if b0 is not None else None
        if b1 is None:
            raise ValueError(f"tensor '{name}' has no valid data_offsets")
        if b0 > b1 or b1 > data_size:
            raise ValueError(f"tensor '{name}': data_offsets [{b0}, {b1}] outside the {data_size}-byte data")
        if numel * _DTYPE_SIZE[dt] != b1 - b0:
            raise ValueError(f"tensor '{name}': {b1 - b0} bytes of data do not match its dtype and shape")
        if name in names:
            raise ValueError(f"tensor '{name}' appears twice")
        names.add(name)
        tensors.append((name, dt, tuple(shape), b0, b1))
    pos = 0  # the data must be covered exactly: no overlaps, no holes
    for name, _, _, b0, b1 in sorted(tensors, key=lambda t: t[3]):
        if b0 != pos:
            raise ValueError(f"tensor '{name}' " + ("overlaps another tensor's data" if b0 < pos else
                                                    "leaves a hole in the data before it"))
        pos = b1
    if pos != data_size:
        raise ValueError(f"the tensors cover {pos} of the {data_size} data bytes")
    return tensors, meta, 8 + hlen


def _utf8(s):
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"the header holds a string that is not valid Unicode ({one_line(ascii(s))[:60]})") from None


def st_read(path) -> tuple:
    """Returns (tensors: name -> np.ndarray, metadata: dict of strings) of a safetensors file, checked as the C
    reader checks it (src/io/safetensors.c). Only a regular file is read; anything malformed (a short file, bad
    JSON, offsets outside the data, ...) raises AttndropError naming the file."""
    buf = _open_regular(path)
    try:
        entries, meta, start = _st_parse(buf)
        out = {}
        for name, dt, shape, b0, b1 in entries:
            if dt not in _DTYPES:
                raise ValueError(f"tensor '{name}' has dtype {dt}, which numpy cannot hold")
            out[name] = np.frombuffer(buf, dtype=np.dtype(_DTYPES[dt]), count=(b1 - b0) // _DTYPE_SIZE[dt],
                                      offset=start + b0).reshape(shape).copy()
    except (ValueError, KeyError, IndexError, TypeError, struct.error, RecursionError) as e:
        raise AttndropError(f"{path}: {one_line(e)}") from None
    except MemoryError:
        raise AttndropError(f"{path}: cannot allocate its tensors") from None
    md = {}
    for k, v in meta:
        md.setdefault(k, v)  # the first of a repeated key, as the C reader
    return out, md


def _atomic_write(path, chunks):
    """Writes the byte strings as the file path, whole or not at all (src/io/atomic.c): a temporary file in the same
    directory, flushed and synced, renamed over the target, the directory synced. On any failure the temporary
    file is removed, the previous file is left as it was, and AttndropError names the path and the cause."""
    path = os.fspath(path)
    tmp, fd = None, -1
    try:
        for n in range(100):
            tmp = f"{path}.{os.getpid()}.{n}.py.tmp"
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
                break
            except FileExistsError:
                continue
        if fd < 0:
            raise FileExistsError(17, "no free temporary file name")
        for b in chunks:
            view = memoryview(b).cast("B")
            while view:
                n = os.write(fd, view)
                view = view[n:]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
        tmp = None
    except BaseException as e:
        if fd >= 0:
            os.close(fd)
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if isinstance(e, OSError):
            raise AttndropError(f"cannot write '{path}': {e.strerror or one_line(e)} (the previous file, if any, "
                                f"is intact)") from None
        raise
    try:  # the rename made durable; a directory that cannot be synced does not undo it
        dfd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def st_write(path, tensors, metadata=None) -> None:
    """Writes F32 tensors (name -> array, converted to float32) with string metadata, atomically (a temporary
    file synced and renamed over path: on any failure the previous file is intact); AttndropError on failure."""
    header = {}
    if metadata:
        for k in metadata:
            if not isinstance(k, str) or len(k.encode("utf-8", "replace")) > _ST_META_KEY_MAX:
                raise AttndropError(f"{path}: metadata key {k!r} is not a string of at most 63 bytes")
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    blobs, off = [], 0
    for name, arr in tensors.items():
        if not isinstance(name, str) or name == "__metadata__" or len(name.encode("utf-8", "replace")) > _ST_NAME_MAX:
            raise AttndropError(f"{path}: tensor name {name!r} is not a string of at most 127 bytes")
        try:
            a = np.ascontiguousarray(np.asarray(arr, dtype=np.float32))
        except (TypeError, ValueError) as e:
            raise AttndropError(f"{path}: tensor '{name}' is not an array of numbers: {one_line(e)}") from None
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    try:
        h = json.dumps(header, allow_nan=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError) as e:
        raise AttndropError(f"{path}: the header cannot be written: {one_line(e)}") from None
    h += b" " * ((8 - len(h) % 8) % 8)
    _atomic_write(path, [struct.pack("<Q", len(h)), h] + blobs)


# ------------------------------------------------------------ checkpoints

_SCHEDULES = ("constant", "layer-decay", "step-decay")
_MAX_BLOCK, _MAX_DIM = 8192, 65536   # src/model/model.c's AD_MAX_BLOCK and AD_MAX_DIM


def _f32(x):
    return float(np.float32(x))


def _to_float(v):
    """A JSON number as cJSON holds it (a double: a huge integer becomes infinite)."""
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def _config_int(o, k):
    v = o.get(k)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    if isinstance(v, float) and not (math.isfinite(v) and v == int(v)):
        return None
    return int(v) if -2**31 <= v <= 2**31 - 1 else None


def _parse_config(text):
    """The checkpoint's config as the C loader reads it (src/io/checkpoint.c's parse_config and ad_config_check):
    a dict of gpt.py's keys, or ValueError naming the bad value."""
    if text is None:
        raise ValueError("__metadata__ has no \"config\"")
    try:
        o, _ = _json_prefix(text)
    except (ValueError, RecursionError):
        o = None
    if not isinstance(o, _Pairs):
        raise ValueError("\"config\" is not a JSON object")
    c = {}
    for k in ("vocab_size", "block_size", "n_embd", "n_head", "n_layer"):
        c[k] = _config_int(o, k)
        if c[k] is None:
            raise ValueError(f"\"config\" has no integer \"{k}\"")
    dp = o.get("dropout")
    if isinstance(dp, bool) or not isinstance(dp, (int, float)):
        raise ValueError("\"config\" has no number \"dropout\"")
    c["dropout"] = _to_float(dp)
    sc, ap, sd = o.get("attn_scheme"), o.get("attn_dropout"), o.get("dropout_schedule")
    if "attn_scheme" in o and (not isinstance(sc, str) or sc not in SCHEMES):
        raise ValueError("\"config\" has an unknown \"attn_scheme\"")
    if "attn_dropout" in o and (isinstance(ap, bool) or not isinstance(ap, (int, float))):
        raise ValueError("\"attn_dropout\" is not a number")
    if "dropout_schedule" in o and (not isinstance(sd, str) or sd not in _SCHEDULES):
        raise ValueError("\"config\" has an unknown \"dropout_schedule\"")
    c["attn_scheme"] = sc if "attn_scheme" in o else "standard"
    c["attn_dropout"] = _to_float(ap) if "attn_dropout" in o else c["dropout"]
    c["dropout_schedule"] = sd if "dropout_schedule" in o else "constant"
    bad = None
    with np.errstate(over="ignore"):
        dropout, attn_dropout = _f32(c["dropout"]), _f32(c["attn_dropout"])
    if not 1 <= c["vocab_size"] <= 0x110000:
        bad = f"vocab_size must be in [1, 1114112], got {c['vocab_size']}"
    elif not 1 <= c["block_size"] <= _MAX_BLOCK:
        bad = f"block_size must be in [1, {_MAX_BLOCK}], got {c['block_size']}"
    elif not 1 <= c["n_embd"] <= _MAX_DIM:
        bad = f"n_embd must be in [1, {_MAX_DIM}], got {c['n_embd']}"
    elif not 1 <= c["n_head"] <= c["n_embd"]:
        bad = f"n_head must be in [1, n_embd={c['n_embd']}], got {c['n_head']}"
    elif c["n_embd"] % c["n_head"]:
        bad = f"n_embd ({c['n_embd']}) must be divisible by n_head ({c['n_head']})"
    elif not 1 <= c["n_layer"] <= 1024:
        bad = f"n_layer must be in [1, 1024], got {c['n_layer']}"
    elif not 0.0 <= dropout < 1.0:
        bad = f"dropout must be in [0, 1), got {c['dropout']:g}"
    elif not 0.0 <= attn_dropout < 1.0:
        bad = f"attn_dropout must be in [0, 1), got {c['attn_dropout']:g}"
    if bad:
        raise ValueError(f"the checkpoint's config is invalid: {bad}")
    return c


def _parse_vocab(text, expect):
    """The vocabulary as the C loader reads it: a JSON string of expect distinct characters in ascending order."""
    if text is None:
        raise ValueError("__metadata__ has no \"vocab\"")
    try:
        v, _ = _json_prefix(text)
    except (ValueError, RecursionError):
        v = None
    if not isinstance(v, str):
        raise ValueError("\"vocab\" is not a JSON string")
    if "\0" in v or any(0xD800 <= ord(ch) <= 0xDFFF for ch in v):
        raise ValueError("\"vocab\" is not valid UTF-8")
    if len(v) != expect:
        raise ValueError(f"\"vocab\" has {len(v)} characters but vocab_size is {expect}")
    for i in range(1, len(v)):
        if v[i] <= v[i - 1]:
            raise ValueError(f"\"vocab\" is not a sorted set of characters (at index {i})")
    return v


def checkpoint_shapes(cfg) -> dict:
    """The tensors of gpt.py's model for a config: name -> shape, in the C library's order (gpt.py's state_dict
    names, without the causal-mask buffers)."""
    V, T, C, H, L = (cfg[k] for k in ("vocab_size", "block_size", "n_embd", "n_head", "n_layer"))
    s = {"token_embedding_table.weight": (V, C), "position_embedding_table.weight": (T, C)}
    for l in range(L):
        for h in range(H):
            for part in ("key", "query", "value"):
                s[f"blocks.{l}.sa.heads.{h}.{part}.weight"] = (C // H, C)
        s.update({f"blocks.{l}.sa.proj.weight": (C, C), f"blocks.{l}.sa.proj.bias": (C,),
                  f"blocks.{l}.ffwd.net.0.weight": (4 * C, C), f"blocks.{l}.ffwd.net.0.bias": (4 * C,),
                  f"blocks.{l}.ffwd.net.2.weight": (C, 4 * C), f"blocks.{l}.ffwd.net.2.bias": (C,),
                  f"blocks.{l}.ln1.weight": (C,), f"blocks.{l}.ln1.bias": (C,),
                  f"blocks.{l}.ln2.weight": (C,), f"blocks.{l}.ln2.bias": (C,)})
    s.update({"ln_f.weight": (C,), "ln_f.bias": (C,), "lm_head.weight": (V, C), "lm_head.bias": (V,)})
    return s


def read_checkpoint(path) -> tuple:
    """An attndrop checkpoint's (tensors, config, vocab), checked as the C loader checks it (src/io/checkpoint.c):
    format and version, the config's values, the vocabulary, every tensor of the config present as F32 with
    its shape and no other, every weight finite. AttndropError naming the file otherwise."""
    buf = _open_regular(path)
    try:
        entries, meta_pairs, start = _st_parse(buf)
        meta = {}
        for k, v in meta_pairs:
            meta.setdefault(k, v)
        fmt = meta.get("format")
        if fmt != "attndrop":
            raise ValueError(f"not an attndrop file (__metadata__ \"format\" is "
                             f"{'missing' if fmt is None else repr(fmt[:60])})")
        if "version" in meta and meta["version"] != "1":
            raise ValueError(f"version {meta['version'][:20]} is not supported (this build reads version 1)")
        cfg = _parse_config(meta.get("config"))
        vocab = _parse_vocab(meta.get("vocab"), cfg["vocab_size"])
        want = checkpoint_shapes(cfg)
        have = {name: (dt, shape, b0, b1) for name, dt, shape, b0, b1 in entries}
        for name, shape in want.items():
            if name not in have:
                raise ValueError(f"tensor '{name}' is missing")
            dt, got, _, _ = have[name]
            if dt != "F32":
                raise ValueError(f"tensor '{name}' has dtype {dt}, expected F32")
            if got != shape:
                raise ValueError(f"tensor '{name}' has a shape that disagrees with the config")
        for name in have:
            if name not in want:
                raise ValueError(f"unexpected tensor '{name}'")
        tensors = {}
        for name, shape in want.items():
            _, _, b0, b1 = have[name]
            a = np.frombuffer(buf, dtype=np.dtype("<f4"), count=(b1 - b0) // 4, offset=start + b0).reshape(shape)
            if not np.isfinite(a).all():
                raise ValueError(f"a weight is {a[~np.isfinite(a)].flat[0]:g}")
            tensors[name] = a.copy()
    except (ValueError, KeyError, IndexError, TypeError, struct.error, RecursionError) as e:
        raise AttndropError(f"{path}: {one_line(e)}") from None
    except MemoryError:
        raise AttndropError(f"{path}: cannot allocate its tensors") from None
    return tensors, cfg, vocab


def load_checkpoint(path, exact_masks: bool = False, seed: int = 1337) -> tuple:
    """Builds gpt.py's model from an attndrop checkpoint; returns (model, vocab string). With exact_masks the
    model draws attndrop's masks for the checkpoint's scheme (seed `seed`); without, gpt.py's nn.Dropout.
    The file is checked as the C loader checks it (read_checkpoint): what `attndrop sample` refuses, this
    refuses, with AttndropError naming the file."""
    tensors, cfg, vocab = read_checkpoint(path)
    if not exact_masks:
        cfg.pop("attn_scheme", None)
    elif cfg["dropout_schedule"] != "constant":
        raise AttndropError(f"{path}: exact masks need the constant dropout schedule, not {cfg['dropout_schedule']}")
    else:
        cfg["seed"] = check_int("seed", seed, 0, 2**64 - 1)
    model = GPTLanguageModel(cfg)
    state = {k: torch.from_numpy(v) for k, v in tensors.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or not all(k.endswith(".tril") for k in missing):
        raise AttndropError(f"{path}: tensors do not match gpt.py's model (unexpected {unexpected}, missing {missing})")
    return model, vocab


def save_checkpoint(model, vocab: str, path) -> None:
    """Writes the model in attndrop's checkpoint layout (gpt.py's state_dict names, the config and vocabulary in
    the metadata), which `attndrop sample` and `attndrop eval` read. The write is atomic: on any failure (a full
    disk, ...) the previous file at path is left intact and AttndropError says why. A model or vocabulary
    that the loaders would refuse (a NaN weight, a vocabulary not of vocab_size sorted distinct characters) is
    refused before anything is written."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise AttndropError(f"save_checkpoint: the path must be a str or os.PathLike, got {type(path).__name__}")
    c = getattr(model, "cfg", None)
    if not isinstance(c, dict) or not isinstance(model, nn.Module):
        raise AttndropError(f"cannot write '{path}': not gpt.py's model (a GPTLanguageModel with its cfg)")
    try:
        cfg = {k: c[k] for k in ("vocab_size", "block_size", "n_embd", "n_head", "n_layer", "dropout")}
        cfg.update(attn_scheme=c.get("attn_scheme") or "standard", attn_dropout=c.get("attn_dropout", c["dropout"]),
                   dropout_schedule="constant")
        if not isinstance(vocab, str):
            raise ValueError(f"the vocabulary must be a string, got {type(vocab).__name__}")
        _parse_vocab(json.dumps(vocab), cfg["vocab_size"])
        want = checkpoint_shapes(_parse_config(json.dumps(cfg, allow_nan=False)))
    except (ValueError, TypeError, KeyError) as e:
        raise AttndropError(f"cannot write '{path}': {one_line(e)}") from None
    # what will be written, checked after every conversion (float32: a finite float64 can overflow to inf):
    # the checkpoint's tensors, each with the shape the config gives it; buffers outside the layout (the causal
    # mask, an exact-mask dropout's step) are not saved, parameters outside it are refused
    state, params = model.state_dict(), {k for k, _ in model.named_parameters()}
    tensors = {}
    for k, shape in want.items():
        if k not in state:
            raise AttndropError(f"cannot write '{path}': the model has no tensor '{k}'")
        v = state[k].detach().to("cpu", torch.float32).numpy()
        if tuple(v.shape) != tuple(shape):
            raise AttndropError(f"cannot write '{path}': tensor '{k}' has shape {tuple(v.shape)}, the config gives {tuple(shape)}")
        if not np.isfinite(v).all():
            raise AttndropError(f"cannot write '{path}': tensor '{k}' holds a NaN or Inf (as float32)")
        tensors[k] = v
    extra = sorted(k for k in params if k not in want)
    if extra:
        raise AttndropError(f"cannot write '{path}': parameters outside gpt.py's layout: {', '.join(extra[:3])}")
    st_write(path, tensors, {"format": "attndrop", "version": "1", "config": json.dumps(cfg), "vocab": json.dumps(vocab)})
