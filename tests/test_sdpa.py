"""pytest: SDPA's whole contract in attndrop.functional.scaled_dot_product_attention (the general kernels,
ad_sdpa_forward/_backward): boolean and additive masks broadcast over batch and heads, is_causal=False, grouped
query heads, T_q != T_k, a value size unlike the query's, 3-D and 5-D inputs, float64 (gradcheck), empty sizes,
every scale; against PyTorch's own SDPA at p = 0, against the package's pure-PyTorch masks for non-causal
attention, against the causal kernels where both apply, and the schemes' laws on masked keys read off the
weights themselves (value = the identity). ATTNDROP_LIB names the library (tests/test_pytest.sh sets it)."""
import math
import os
import sys

import pytest
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import attndrop.functional as AF  # noqa: E402
from attndrop import AttndropError  # noqa: E402
from attndrop.schemes import SCHEMES, attention_masks, where  # noqa: E402

ATTENTION_SCHEMES = [s for s in SCHEMES if where(s) != "input"]
HAS_SDPA = hasattr(F, "scaled_dot_product_attention")  # from PyTorch 2.0
HAS_GQA = HAS_SDPA and "enable_gqa" in (F.scaled_dot_product_attention.__doc__ or "")


def tensors(B, H, Hk, Tq, Tk, E, Ev, dtype=torch.float64, seed=0, grad=True):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, H, Tq, E, generator=g, dtype=dtype)
    k = torch.randn(B, Hk, Tk, E, generator=g, dtype=dtype)
    v = torch.randn(B, Hk, Tk, Ev, generator=g, dtype=dtype)
    return [t.requires_grad_(grad) for t in (q, k, v)]


def reference(q, k, v, mask, causal, scale=None):
    """SDPA in float64 by its definition, in PyTorch: grouped heads repeated, the causal mask top-left, a fully
    masked row zero."""
    H, Hk = q.shape[-3], k.shape[-3]
    if Hk != H:
        k = k.repeat_interleave(H // Hk, dim=-3)
        v = v.repeat_interleave(H // Hk, dim=-3)
    s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    att = (q @ k.transpose(-1, -2)) * s
    Tq, Tk = att.shape[-2:]
    bias = torch.zeros(Tq, Tk, dtype=att.dtype)
    if causal:
        bias = bias.masked_fill(~torch.ones(Tq, Tk, dtype=torch.bool).tril(), -math.inf)
    if mask is not None:
        bias = bias + (torch.zeros(mask.shape, dtype=att.dtype).masked_fill(~mask, -math.inf)
                       if mask.dtype == torch.bool else mask)
    att = att + bias
    dead = torch.isneginf(att).all(-1, keepdim=True)
    w = torch.softmax(att.masked_fill(dead, 0.0), -1).masked_fill(dead, 0.0)
    return w @ v


SHAPES = [  # B, H, H_kv, T_q, T_k, E, E_v
    (2, 4, 4, 7, 7, 8, 8),
    (2, 4, 2, 5, 9, 8, 6),    # grouped heads, more keys than queries, E_v < E
    (1, 6, 2, 9, 5, 16, 20),  # more queries than keys, E_v > E
    (3, 2, 1, 3, 3, 4, 4),    # multi-query
]
MASKS = ["none", "bool-padding", "bool-full", "additive", "additive-heads"]


def make_mask(kind, B, H, Tq, Tk, seed=1):
    g = torch.Generator().manual_seed(seed)
    if kind == "none":
        return None
    if kind == "bool-padding":  # left padding: row b's first b keys masked, broadcast over heads and queries
        return (torch.arange(Tk).view(1, 1, 1, Tk) >= torch.arange(B).view(B, 1, 1, 1))
    if kind == "bool-full":  # any pattern, some rows fully masked
        return torch.rand(B, H, Tq, Tk, generator=g) > 0.4
    if kind == "additive":  # a bias (ALiBi-like) with some -inf, broadcast over batch and heads
        m = torch.randn(Tq, Tk, generator=g, dtype=torch.float64)
        return m.masked_fill(torch.rand(Tq, Tk, generator=g) < 0.2, -math.inf)
    return torch.randn(1, H, 1, Tk, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("kind", MASKS)
def test_no_dropout_is_sdpa_by_its_definition(causal, shape, kind):
    """p = 0: out and every gradient equal SDPA's definition in float64 (both sum at most T_k products of
    O(1) terms: 1e-12 is a thousand times the rounding, far below any wrong weight)."""
    B, H, Hk, Tq, Tk, E, Ev = shape
    q, k, v = tensors(*shape)
    mask = make_mask(kind, B, H, Tq, Tk)
    out = AF.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, enable_gqa=Hk != H)
    ref = reference(q, k, v, mask, causal)
    g = torch.randn_like(ref)
    got, want = torch.autograd.grad(out, (q, k, v), g), torch.autograd.grad(ref, (q, k, v), g)
    assert out.shape == ref.shape and out.dtype == torch.float64
    assert torch.allclose(out, ref, atol=1e-12, rtol=0)
    for a, b in zip(got, want):
        assert torch.allclose(a, b, atol=1e-12, rtol=0)


@pytest.mark.skipif(not HAS_GQA, reason="PyTorch's SDPA has enable_gqa from 2.5")
@pytest.mark.parametrize("kind", ["bool-padding", "additive"])
def test_no_dropout_is_torch_sdpa(kind):
    """The same against PyTorch's own SDPA (non-causal, grouped heads, T_q != T_k), float32: each output sums
    T_k products after one exp, so 64 T_k ulp bound both sides' rounding."""
    B, H, Hk, Tq, Tk, E, Ev = 2, 6, 2, 11, 13, 16, 8
    q, k, v = tensors(B, H, Hk, Tq, Tk, E, Ev, dtype=torch.float32)
    mask = make_mask(kind, B, H, Tq, Tk)
    mask = mask.float() if mask.is_floating_point() else mask
    out = AF.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
    g = torch.randn_like(ref)
    tol = 64 * Tk * 2.0 ** -24 * 4
    assert torch.allclose(out, ref, atol=tol, rtol=0)
    for a, b in zip(torch.autograd.grad(out, (q, k, v), g), torch.autograd.grad(ref, (q, k, v), g)):
        assert torch.allclose(a, b, atol=tol, rtol=0)


@pytest.mark.parametrize("scheme", ATTENTION_SCHEMES)
def test_gradcheck_with_a_scheme(scheme):
    """float64 gradients of the dropped attention (fixed keys: fixed masks) against finite differences, with a
    padding mask, grouped heads and T_q != T_k."""
    B, H, Hk, Tq, Tk, E, Ev = 2, 4, 2, 4, 6, 3, 2
    q, k, v = tensors(B, H, Hk, Tq, Tk, E, Ev)
    mask = make_mask("bool-padding", B, H, Tq, Tk)

    def f(q, k, v):
        return AF.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.4, is_causal=True,
                                               enable_gqa=True, scheme=scheme, keys=(3, 1, 2))
    assert torch.autograd.gradcheck(f, (q, k, v), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("scheme", ATTENTION_SCHEMES)
def test_non_causal_masks_are_the_packages(scheme):
    """is_causal=False with a scheme: the masks of attndrop.schemes.attention_masks(bidirectional=True), the
    pure-PyTorch draw of the C library's streams, applied to SDPA's definition in float64."""
    B, H, T, E = 2, 3, 9, 5
    q, k, v = tensors(B, H, H, T, T, E, E, grad=False)
    p, keys = 0.3, (11, 4, 2, 1)
    out = AF.scaled_dot_product_attention(q, k, v, dropout_p=p, scheme=scheme, keys=keys)
    m = attention_masks(scheme, p, *keys[:3], H, T, B, keys[3], bidirectional=True).double()
    att = (q @ k.transpose(-1, -2)) / math.sqrt(E)
    if where(scheme) == "pre":
        w = torch.softmax(att.masked_fill(m == 0, -math.inf), -1).nan_to_num(0.0)
    else:
        w = torch.softmax(att, -1) * m
    assert torch.allclose(out, w @ v, atol=1e-12, rtol=0)


@pytest.mark.parametrize("scheme", ATTENTION_SCHEMES)
def test_general_kernels_draw_the_causal_kernels_masks(scheme):
    """A mask that masks nothing sends a causal call to the general kernels: the same masks, so the same
    output as the C trainer's kernels within float32 rounding (64 T ulp of O(1) sums)."""
    q, k, v = tensors(2, 3, 3, 37, 37, 8, 8, dtype=torch.float32, grad=False)
    keys = (5, 7, 1, 3)
    fast = AF.scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True, scheme=scheme, keys=keys)
    general = AF.scaled_dot_product_attention(q, k, v, attn_mask=torch.ones(37, 37, dtype=torch.bool),
                                              dropout_p=0.3, is_causal=True, scheme=scheme, keys=keys)
    assert torch.allclose(fast, general, atol=64 * 37 * 2.0 ** -24 * 4, rtol=0)


def weights(scheme, p, mask, causal, B=3, H=2, Tq=12, Tk=12, keys=(9, 2, 1)):
    """The dropped attention weights themselves (B, H, T_q, T_k): value = the identity makes out = weights."""
    g = torch.Generator().manual_seed(4)
    q = torch.randn(B, H, Tq, 4, generator=g, dtype=torch.float64)
    k = torch.randn(B, H, Tk, 4, generator=g, dtype=torch.float64)
    v = torch.eye(Tk, dtype=torch.float64).expand(B, H, Tk, Tk)
    return AF.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, is_causal=causal, scheme=scheme,
                                           keys=keys)


def visible(mask, causal, B=3, H=2, Tq=12, Tk=12):
    vis = mask.expand(B, H, Tq, Tk).clone()
    if causal:
        vis &= torch.ones(Tq, Tk, dtype=torch.bool).tril()
    return vis


@pytest.mark.parametrize("scheme", ATTENTION_SCHEMES)
@pytest.mark.parametrize("causal", [False, True])
def test_a_masked_key_never_survives(scheme, causal):
    mask = torch.rand(3, 1, 12, 12, generator=torch.Generator().manual_seed(2)) > 0.5
    w = weights(scheme, 0.5, mask, causal)
    assert torch.all(w[~visible(mask, causal)] == 0)


@pytest.mark.parametrize("scheme", ["nonzero", "dropkey"])
@pytest.mark.parametrize("causal", [False, True])
def test_a_survivor_among_the_visible_keys(scheme, causal):
    """nonzero and dropkey keep a survivor in every row with a visible key, wherever the mask puts them
    (drawn on the visible keys: a survivor on a masked key would leave the row zero). p = 0.9 and rows of
    few visible keys: a draw by position would zero many rows."""
    mask = torch.rand(3, 1, 12, 12, generator=torch.Generator().manual_seed(3)) > 0.7
    vis = visible(mask, causal)
    w = weights(scheme, 0.9, mask, causal)
    rows = vis.any(-1)
    assert rows.sum() > 20
    assert torch.all((w != 0).any(-1) == rows)


@pytest.mark.parametrize("causal", [False, True])
def test_fixedcount_drops_round_p_n_of_the_visible_keys(causal):
    mask = torch.rand(3, 1, 12, 12, generator=torch.Generator().manual_seed(5)) > 0.3
    vis = visible(mask, causal)
    p = 0.5
    w = weights("fixedcount", p, mask, causal)
    n = vis.sum(-1)
    dropped = (vis & (w == 0)).sum(-1)
    lo = torch.clamp(torch.floor(p * n.double()), max=(n - 1).clamp(min=0).double())
    ok = (n == 0) | ((dropped.double() >= lo) & (dropped.double() <= torch.clamp(lo + 1, max=(n - 1).double())))
    assert bool(ok.all())


def test_a_fully_masked_row_is_zero_and_passes_no_gradient():
    q, k, v = tensors(1, 2, 2, 4, 5, 3, 3)
    mask = torch.ones(4, 5, dtype=torch.bool)
    mask[2] = False
    out = AF.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.3, scheme="nonzero", keys=(1, 1, 1))
    assert torch.all(out[:, :, 2] == 0) and torch.all(out[:, :, [0, 1, 3]] != 0)
    out.sum().backward()
    assert torch.all(q.grad[:, :, 2] == 0)
    if HAS_SDPA:
        ref = F.scaled_dot_product_attention(q.detach(), k.detach(), v.detach(), attn_mask=mask)
        assert torch.all(ref[:, :, 2] == 0)  # PyTorch's own answer for the row, which attndrop matches


@pytest.mark.parametrize("shape", [(5, 7, 3), (2, 3, 2, 7, 3)], ids=["3-D", "5-D"])
def test_any_batch_dimensions(shape):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(shape, generator=g, dtype=torch.float64) for _ in range(3))
    mask = torch.rand(shape[-2], shape[-2], generator=g) > 0.3
    out = AF.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert out.shape == shape
    assert torch.allclose(out, reference(q, k, v, mask, False), atol=1e-12, rtol=0)


@pytest.mark.parametrize("scale", [0.0, -0.7, 3.0])
def test_every_scale(scale):
    q, k, v = tensors(2, 2, 2, 5, 5, 4, 4, grad=False)
    for causal in (False, True):
        out = AF.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)
        assert torch.allclose(out, reference(q, k, v, None, causal, scale), atol=1e-12, rtol=0)


@pytest.mark.parametrize("shape", [(0, 2, 5, 4), (2, 2, 0, 4)], ids=["B=0", "T=0"])
def test_empty_inputs(shape):
    q, k, v = (torch.randn(shape, requires_grad=True) for _ in range(3))
    out = AF.scaled_dot_product_attention(q, k, v, dropout_p=0.5, is_causal=True)
    assert out.shape == shape
    out.sum().backward()
    assert q.grad.shape == shape


def test_no_keys_gives_zero_rows():
    q = torch.randn(2, 3, 4, 5, requires_grad=True)
    k, v = torch.randn(2, 1, 0, 5), torch.randn(2, 1, 0, 6)
    out = AF.scaled_dot_product_attention(q, k, v, enable_gqa=True, dropout_p=0.5)
    assert out.shape == (2, 3, 4, 6) and torch.all(out == 0)


def test_bfloat16_with_a_mask_is_computed_in_float32():
    q, k, v = tensors(2, 4, 2, 6, 8, 8, 8, dtype=torch.float32, grad=False)
    mask = make_mask("bool-padding", 2, 4, 6, 8)
    qh, kh, vh = (t.bfloat16() for t in (q, k, v))
    out = AF.scaled_dot_product_attention(qh, kh, vh, attn_mask=mask, enable_gqa=True, dropout_p=0.2, keys=(1, 2, 3))
    f32 = AF.scaled_dot_product_attention(qh.float(), kh.float(), vh.float(), attn_mask=mask, enable_gqa=True,
                                          dropout_p=0.2, keys=(1, 2, 3))
    assert out.dtype == torch.bfloat16 and torch.equal(out, f32.to(torch.bfloat16))


@pytest.mark.parametrize("scheme", ["standard", "nonzero", "column", "symmetric"])
@pytest.mark.parametrize("kind", ["bool", "additive"])
def test_a_mask_holding_the_causal_part_is_the_causal_call(scheme, kind):
    """Hugging Face passes causal models a mask that holds the causal part (and the padding), with
    is_causal=False: that call is the causal call with the mask, bit for bit, its dropout masks included (the
    kernels skip the blocks above the diagonal). One visible key above the diagonal makes it non-causal again."""
    B, H, T = 3, 2, 70  # T crosses a 64-row block
    q, k, v = tensors(B, H, H, T, T, 8, 8, dtype=torch.float32)
    pad = make_mask("bool-padding", B, H, T, T)
    both = pad & torch.ones(T, T, dtype=torch.bool).tril()
    mask = both if kind == "bool" else torch.zeros(both.shape).masked_fill(~both, -math.inf)
    kw = dict(dropout_p=0.3, scheme=scheme, keys=(4, 5, 6))
    a = AF.scaled_dot_product_attention(q, k, v, attn_mask=mask, **kw)
    b = AF.scaled_dot_product_attention(q, k, v, attn_mask=pad, is_causal=True, **kw)
    ga = torch.autograd.grad(a.sum(), (q, k, v))
    gb = torch.autograd.grad(b.sum(), (q, k, v))
    assert torch.equal(a, b) and all(torch.equal(x, y) for x, y in zip(ga, gb))
    leak = both.clone().expand(B, 1, T, T).clone()
    leak[0, 0, 5, 40] = True  # row 5 of batch row 0 sees a later key
    c = AF.scaled_dot_product_attention(q, k, v, attn_mask=leak, dropout_p=0.0).detach()
    d = AF.scaled_dot_product_attention(q, k, v, attn_mask=pad, is_causal=True, dropout_p=0.0).detach()
    ref = reference(*(t.detach().double() for t in (q, k, v)), leak, False)
    assert torch.allclose(c.double(), ref, atol=1e-5) and not torch.allclose(c[0, 0, 5], d[0, 0, 5], atol=1e-3)


AUTOCAST_CASES = [(a, x, m) for a in (torch.bfloat16, torch.float16)
                  for x in (torch.float32, torch.float64, torch.float16, torch.bfloat16) for m in (False, True)]


@pytest.mark.parametrize("adt,dtype,masked", AUTOCAST_CASES, ids=lambda c: str(c).replace("torch.", ""))
def test_autocast_follows_sdpas_rule(adt, dtype, masked):
    """Under torch.autocast, SDPA's rule (lower precision): float32, float16 and bfloat16 inputs are taken in
    autocast's dtype, float64 as it is; the result equals the call on inputs cast by hand, and its dtype is
    torch's SDPA's where PyTorch has one."""
    if adt == torch.float16 and torch.__version__ < "2":
        pytest.skip("PyTorch 1.13's CPU autocast takes bfloat16 only")
    q, k, v = (t.to(dtype) for t in tensors(2, 2, 2, 6, 6, 8, 8, dtype=torch.float32, grad=False))
    kw = dict(is_causal=True, dropout_p=0.3, scheme="nonzero", keys=(1, 2, 3))
    if masked:
        kw["attn_mask"] = make_mask("bool-padding", 2, 2, 6, 6)
    want_dtype = dtype if dtype == torch.float64 else adt
    with torch.autocast("cpu", dtype=adt):
        got = AF.scaled_dot_product_attention(q, k, v, **kw)
        if HAS_SDPA:
            assert F.scaled_dot_product_attention(q, k, v, is_causal=True).dtype == want_dtype
    by_hand = AF.scaled_dot_product_attention(*(t.to(want_dtype) for t in (q, k, v)), **kw)
    assert got.dtype == want_dtype and torch.equal(got, by_hand)


def test_dropout_is_random_and_seeded():
    q, k, v = tensors(2, 4, 2, 6, 8, 8, 8, dtype=torch.float32, grad=False)
    mask = make_mask("bool-padding", 2, 4, 6, 8)
    torch.manual_seed(0)
    a = AF.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True, dropout_p=0.5)
    b = AF.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True, dropout_p=0.5)
    torch.manual_seed(0)
    c = AF.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True, dropout_p=0.5)
    assert not torch.equal(a, b) and torch.equal(a, c)


def _sdpa_op_bad_cases():
    B, H, Hk, T, E = 2, 4, 2, 5, 3
    q, k, v = (t.detach() for t in tensors(B, H, Hk, T, T, E, E))
    keys = torch.zeros(4, dtype=torch.int64)
    mask = torch.zeros(B, H, T, T, dtype=torch.float64)
    stats = torch.zeros(B, H, T, 2, dtype=torch.float64)
    return [
        ("fwd", "float32 k", (q, k.float(), v, None, keys, 0.5, 1, 0.2, False), "k must be float32 or float64"),
        ("fwd", "heads not a multiple", (q, k[:, :1].expand(B, 3, T, E), v[:, :1].expand(B, 3, T, E), None, keys,
                                         0.5, 1, 0.2, False), "multiple of H_kv"),
        ("fwd", "a mask of another shape", (q, k, v, mask[:, :1], keys, 0.5, 1, 0.2, False), "mask must be"),
        ("fwd", "a float32 mask", (q, k, v, mask.float(), keys, 0.5, 1, 0.2, False), "mask must be"),
        ("fwd", "an infinite scale", (q, k, v, None, keys, math.inf, 1, 0.2, False), "scale"),
        ("fwd", "p = 1", (q, k, v, None, keys, 0.5, 1, 1.0, False), "p must be"),
        ("bwd", "a short grad", (q[:, :, :2], q, k, v, None, stats, keys, 0.5, 1, 0.2, False), "grad must be"),
        ("bwd", "float32 stats", (q, q, k, v, None, stats.float(), keys, 0.5, 1, 0.2, False), "stats must be"),
    ]


@pytest.mark.skipif(not AF._HAS_CUSTOM_OP, reason="torch.library.custom_op needs PyTorch >= 2.4")
@pytest.mark.parametrize("case", _sdpa_op_bad_cases(), ids=lambda c: c[1])
def test_registered_general_ops_check_their_operands(case):
    which, _, args, needle = case
    op = torch.ops.attndrop.sdpa_fwd if which == "fwd" else torch.ops.attndrop.sdpa_bwd
    with pytest.raises(AttndropError, match=needle):
        op(*args)


@pytest.mark.skipif(not (hasattr(torch, "compile") and AF._HAS_CUSTOM_OP),
                    reason="needs torch.library.custom_op and torch.compile (PyTorch >= 2.4)")
def test_compiled_masked_gqa_call_has_no_graph_break():
    frames = []

    def f(q, k, v, mask):
        return AF.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.2, enable_gqa=True,
                                               scheme="nonzero", keys=(1, 2, 3)).sum()
    cf = torch.compile(f, fullgraph=True, backend=lambda gm, ex: (frames.append(gm), gm.forward)[1])
    q, k, v = tensors(2, 4, 2, 6, 8, 8, 8, dtype=torch.float32)
    mask = make_mask("bool-padding", 2, 4, 6, 8)
    got = cf(q, k, v, mask)
    want = f(q, k, v, mask)
    assert len(frames) == 1 and torch.equal(got, want)
    g1 = torch.autograd.grad(got, (q, k, v))
    g2 = torch.autograd.grad(want, (q, k, v))
    assert all(torch.equal(a, b) for a, b in zip(g1, g2))


def test_forward_mode_ad_is_refused():
    """The op has reverse-mode derivatives only: forward-mode AD raises instead of returning zero tangents."""
    q, k, v = tensors(1, 2, 2, 5, 5, 4, 4, dtype=torch.float32, grad=False)
    fwAD = pytest.importorskip("torch.autograd.forward_ad")
    with fwAD.dual_level():
        dual = fwAD.make_dual(q, torch.ones_like(q))
        with pytest.raises(AttndropError, match="forward-mode"):
            AF.scaled_dot_product_attention(dual, k, v, is_causal=True)


@pytest.mark.skipif(not hasattr(torch, "func"), reason="torch.func from PyTorch 2.0")
@pytest.mark.parametrize("transform", ["jvp", "grad", "vmap"])
def test_torch_func_transforms_are_refused(transform):
    q, k, v = tensors(1, 2, 2, 5, 5, 4, 4, dtype=torch.float32, grad=False)

    def f(q):
        return AF.scaled_dot_product_attention(q, k, v, is_causal=True)
    with pytest.raises(AttndropError, match="torch.func"):
        if transform == "jvp":
            torch.func.jvp(f, (q,), (torch.ones_like(q),))
        elif transform == "grad":
            torch.func.grad(lambda q: f(q).sum())(q)
        else:
            torch.func.vmap(f)(q.unsqueeze(0))


@pytest.mark.parametrize("mask", [None, "bool-padding"])
def test_double_backward_raises_instead_of_zeros(mask):
    """A second derivative through the op is not computed: it raises (PyTorch 1.13 returned zeros)."""
    q, k, v = tensors(2, 2, 2, 5, 5, 4, 4, dtype=torch.float32)
    m = make_mask(mask, 2, 2, 5, 5) if mask else None
    out = AF.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=True, dropout_p=0.2, keys=(1, 2, 3))
    (gq,) = torch.autograd.grad(out.sum(), q, create_graph=True)
    with pytest.raises(RuntimeError):
        torch.autograd.grad(gq.sum(), q)


@pytest.mark.parametrize("Tq,Tk", [(150, 130), (130, 150), (200, 200)])
def test_causal_blocks_across_the_diagonal(Tq, Tk):
    """A causal call skips the key blocks above the diagonal (64 query rows per block): lengths that cross
    several blocks, T_q above and below T_k, with a padding mask and grouped heads, against the definition."""
    B, H, Hk, E, Ev = 2, 4, 2, 8, 6
    q, k, v = tensors(B, H, Hk, Tq, Tk, E, Ev)
    mask = make_mask("bool-padding", B, H, Tq, Tk)
    for m in (None, mask):
        out = AF.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=True, enable_gqa=True)
        ref = reference(q, k, v, m, True)
        g = torch.randn_like(ref)
        assert torch.allclose(out, ref, atol=1e-12, rtol=0)
        for a, b in zip(torch.autograd.grad(out, (q, k, v), g), torch.autograd.grad(ref, (q, k, v), g)):
            assert torch.allclose(a, b, atol=1e-12, rtol=0)


@pytest.mark.skipif(not (AF._HAS_CUSTOM_OP and hasattr(torch.library, "opcheck")),
                    reason="torch.library.opcheck from PyTorch 2.4")
@pytest.mark.parametrize("which", ["attention_fwd", "sdpa_fwd"])
def test_opcheck(which):
    """torch.library.opcheck on both registered forwards (schema, fake tensors, the autograd registration,
    AOT dispatch with dynamic shapes): the operator contract torch.compile relies on."""
    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, 4, 6, 8, generator=g, requires_grad=True)
    keys = torch.tensor([1, 2, 3, 0])
    if which == "attention_fwd":
        k, v = (torch.randn(2, 4, 6, 8, generator=g, requires_grad=True) for _ in range(2))
        args = (q, k, v, keys, 0.3, 1, 0.2)
    else:
        k, v = (torch.randn(2, 2, 7, 8, generator=g, requires_grad=True) for _ in range(2))
        args = (q, k, v, torch.zeros(2, 4, 6, 7), keys, 0.3, 3, 0.2, False)
    result = torch.library.opcheck(getattr(torch.ops.attndrop, which), args)
    assert all(v == "SUCCESS" for v in result.values()), result
