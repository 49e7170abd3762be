"""pytest: attndrop.functional.scaled_dot_product_attention, the fused causal attention op, against a float64
reference built from the package's own exact masks (every attention scheme, forward and gradients, on
non-contiguous PyTorch layouts), nn.Dropout's RNG semantics (torch.manual_seed, generators standing for
ranks, torch.utils.checkpoint's recompute), the C trainer's masks with keys=, dtypes, bad arguments, and,
where PyTorch has torch.library.custom_op and torch.compile, a nanoGPT-shaped model compiled with no graph
break and no recompilation. Runs under Debian's PyTorch 1.13 (the autograd.Function path) and current
PyTorch from PyPI. ATTNDROP_LIB names the library (tests/test_pytest.sh sets it)."""
import importlib
import math
import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import attndrop.functional as AF  # noqa: E402
from attndrop import AttndropError  # noqa: E402
from attndrop.schemes import SCHEMES, attention_masks, where  # noqa: E402

ATTENTION_SCHEMES = [s for s in SCHEMES if where(s) != "input"]
HAS_COMPILE = hasattr(torch, "compile") and AF._HAS_CUSTOM_OP


def qkv(B=2, H=3, T=70, D=16, seed=0, grad=False):
    """q, k, v as nanoGPT makes them: (B, T, H, D) views transposed to (B, H, T, D), not contiguous."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(3):
        t = torch.randn(B, T, H, D, generator=g).transpose(1, 2)
        out.append(t.requires_grad_() if grad else t)
    return out


def reference(q, k, v, scheme, p, keys):
    """Causal attention in float64 with the masks of attndrop.schemes (the C trainer's, pure PyTorch)."""
    B, H, T, D = q.shape
    seed, step, layer, row0 = keys
    att = (q @ k.transpose(-1, -2)) / math.sqrt(D)
    att = att.masked_fill(~torch.tril(torch.ones(T, T, dtype=torch.bool)), float("-inf"))
    m = attention_masks(scheme, p, seed, step, layer, H, T, B, row0).double()
    if where(scheme) == "pre":
        w = torch.softmax(att.masked_fill(m == 0, float("-inf")), -1).nan_to_num(0.0)
    else:
        w = torch.softmax(att, -1) * m
    return w @ v


# float32 against float64: each output sums T products of O(1) terms after an exp of 2 ulp; the bound
# T * D * 2^-24 * 8 (about 5e-4 at T=70, D=16) holds by the arithmetic, far above the observed 2e-6 and far
# below a wrong mask or a dropped term (O(0.1))
def bound(T, D):
    return T * D * 2.0 ** -24 * 8


@pytest.mark.parametrize("scheme", ATTENTION_SCHEMES)
def test_exact_masks_forward_and_gradients(scheme):
    q, k, v = qkv(grad=True)
    keys = (123, 7, 2, 1)
    out = AF.scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True, scheme=scheme, keys=keys)
    qd, kd, vd = (x.detach().double().requires_grad_() for x in (q, k, v))
    ref = reference(qd, kd, vd, scheme, 0.3, keys)
    g = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
    out.backward(g)
    ref.backward(g.double())
    b = bound(70, 16)
    assert out.dtype == torch.float32 and out.shape == (2, 3, 70, 16)
    assert (out.double() - ref).abs().max().item() < b
    for got, want in ((q.grad, qd.grad), (k.grad, kd.grad), (v.grad, vd.grad)):
        assert (got.double() - want).abs().max().item() < b


def test_exact_masks_are_the_masks_not_a_lucky_match():
    """A wrong key (another layer) must miss the reference by far more than the bound."""
    q, k, v = qkv()
    out = AF.scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True, keys=(123, 7, 3, 1))
    ref = reference(q.double(), k.double(), v.double(), "standard", 0.3, (123, 7, 2, 1))
    assert (out.double() - ref).abs().max().item() > 100 * bound(70, 16)


def test_no_dropout_is_sdpa():
    q, k, v = qkv()
    out = AF.scaled_dot_product_attention(q, k, v, is_causal=True)
    ref = reference(q.double(), k.double(), v.double(), "none", 0.0, (0, 0, 0, 0))
    assert (out.double() - ref).abs().max().item() < bound(70, 16)
    s = AF.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.05)
    assert not torch.allclose(s, out)


def test_manual_seed_governs_the_masks():
    q, k, v = qkv()
    torch.manual_seed(5)
    a = AF.scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True)
    c = AF.scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True)
    torch.manual_seed(5)
    b = AF.scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)  # every call draws its own key: layers and micro-batches differ


def test_generators_stand_for_ranks():
    q, k, v = qkv()
    r0, r1, r0b = (torch.Generator().manual_seed(s) for s in (10, 11, 10))
    a = AF.scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True, generator=r0)
    b = AF.scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True, generator=r1)
    c = AF.scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True, generator=r0b)
    assert torch.equal(a, c) and not torch.equal(a, b)


def test_no_draw_without_dropout():
    """As nn.Dropout in eval: p = 0 leaves the generator where it was."""
    q, k, v = qkv()
    g = torch.Generator().manual_seed(3)
    state = g.get_state()
    AF.scaled_dot_product_attention(q, k, v, dropout_p=0.0, is_causal=True, generator=g)
    assert torch.equal(g.get_state(), state)


class _Layer(torch.nn.Module):
    def __init__(self, scheme):
        super().__init__()
        self.lin = torch.nn.Linear(16, 48)
        self.scheme = scheme

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = (t.view(B, T, 1, C).transpose(1, 2) for t in self.lin(x).split(C, dim=2))
        return AF.scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True, scheme=self.scheme).sum()


@pytest.mark.parametrize("scheme", ["standard", "nonzero", "dropkey"])
def test_checkpoint_recomputes_the_same_masks(scheme):
    import torch.utils.checkpoint as cp
    layer = _Layer(scheme)
    x = torch.randn(2, 20, 16)
    grads = []
    for use_cp in (False, True):
        layer.zero_grad()
        torch.manual_seed(9)
        loss = cp.checkpoint(layer, x, use_reentrant=False) if use_cp else layer(x)
        loss.backward()
        grads.append(layer.lin.weight.grad.clone())
    assert torch.equal(grads[0], grads[1])


def test_bfloat16_and_float16_in_their_dtype():
    q, k, v = qkv()
    for dt in (torch.bfloat16, torch.float16):
        qh, kh, vh = (x.to(dt) for x in (q, k, v))
        out = AF.scaled_dot_product_attention(qh, kh, vh, dropout_p=0.2, is_causal=True, keys=(1, 2, 0))
        f32 = AF.scaled_dot_product_attention(qh.float(), kh.float(), vh.float(), dropout_p=0.2, is_causal=True,
                                             keys=(1, 2, 0))
        assert out.dtype == dt
        assert torch.equal(out, f32.to(dt))  # computed in float32, rounded once


@pytest.mark.parametrize("kwargs,needle", [
    (dict(is_causal=1), "is_causal"),
    (dict(is_causal=True, attn_mask=torch.ones(70, 71, dtype=torch.bool)), "does not broadcast"),
    (dict(attn_mask=torch.ones(70, 70, dtype=torch.int64)), "bool or floating"),
    (dict(attn_mask=torch.zeros(70, 70, requires_grad=True)), "requires grad"),
    (dict(is_causal=True, dropout_p=1.0), "dropout_p"),
    (dict(is_causal=True, dropout_p=float("nan")), "dropout_p"),
    (dict(is_causal=True, scheme="word", dropout_p=0.2), "token embeddings"),
    (dict(is_causal=True, scheme="nope"), "unknown scheme"),
    (dict(is_causal=True, scale=float("inf")), "scale"),
    (dict(is_causal=True, dropout_p=0.2, keys=(1, 2)), "keys"),
    (dict(is_causal=True, dropout_p=0.2, keys=(1, -2, 0)), "step"),
])
def test_bad_arguments(kwargs, needle):
    q, k, v = qkv()
    with pytest.raises(AttndropError, match=needle):
        AF.scaled_dot_product_attention(q, k, v, **kwargs)


def test_bad_tensors():
    q, k, v = qkv()
    with pytest.raises(AttndropError, match="H_kv, T_k, E_v"):
        AF.scaled_dot_product_attention(q, k[:, :, :10], v, is_causal=True)
    with pytest.raises(AttndropError, match="float32, float64"):
        AF.scaled_dot_product_attention(q.int(), k.int(), v.int(), is_causal=True)
    with pytest.raises(AttndropError, match="one rank"):
        AF.scaled_dot_product_attention(q[0, 0], k[0, 0], v[0, 0], is_causal=True)
    with pytest.raises(AttndropError, match="enable_gqa=True"):
        AF.scaled_dot_product_attention(q, k[:, :1], v[:, :1], is_causal=True)
    with pytest.raises(AttndropError, match="not a multiple"):
        AF.scaled_dot_product_attention(q, k[:, :2], v[:, :2], is_causal=True, enable_gqa=True)
    with pytest.raises(ValueError):  # AttndropError is a ValueError, as PyTorch's own argument errors
        AF.scaled_dot_product_attention(q, k, v, dropout_p=2.0)


def _registered_ops_bad_cases():
    """Bad operands of the registered ops, each (name, the forward's or the backward's arguments, needle)."""
    q, k, v = (t.contiguous() for t in qkv(B=2, H=2, T=8, D=4))
    keys = torch.zeros(4, dtype=torch.int64)
    stats = torch.zeros(2, 2, 8, 2)
    grad = torch.ones_like(q)
    s = 0.5
    return [
        ("fwd", "float16 k", (q, k.half(), v, keys, s, 1, 0.2), "k must be float32"),
        ("fwd", "float64 q", (q.double(), k, v, keys, s, 1, 0.2), "q must be float32"),
        ("fwd", "k with a shorter T", (q, k[:, :, :5], v, keys, s, 1, 0.2), "k has shape"),
        ("fwd", "v with another D", (q, k, v[..., :3], keys, s, 1, 0.2), "v has shape"),
        ("fwd", "3-D q", (q[0], k[0], v[0], keys, s, 1, 0.2), "4-D"),
        ("fwd", "keys of 3 values", (q, k, v, keys[:3], s, 1, 0.2), "keys"),
        ("fwd", "a scheme index out of range", (q, k, v, keys, s, 999, 0.2), "scheme"),
        ("fwd", "p = 1", (q, k, v, keys, s, 1, 1.0), "p must be"),
        ("bwd", "a short grad", (grad[:, :, :4], q, k, v, stats, stats, keys, s, 1, 0.2), "grad has shape"),
        ("bwd", "float16 stats", (grad, q, k, v, stats, stats.half(), keys, s, 1, 0.2), "stats must be float32"),
        ("bwd", "stats of one head", (grad, q, k, v, stats, stats[:, :1], keys, s, 1, 0.2), "stats has shape"),
        ("bwd", "a short k", (grad, q, k[:, :, :5], v, stats, stats, keys, s, 1, 0.2), "k has shape"),
    ]


@pytest.mark.skipif(not AF._HAS_CUSTOM_OP, reason="torch.library.custom_op needs PyTorch >= 2.4")
@pytest.mark.parametrize("case", _registered_ops_bad_cases(), ids=lambda c: c[1])
def test_registered_ops_check_their_operands(case):
    """torch.ops.attndrop.* are public: every operand is checked where its pointer crosses into the library,
    not only in the wrapper (a float16 k or a short grad was read past its end)."""
    which, _, args, needle = case
    op = torch.ops.attndrop.attention_fwd if which == "fwd" else torch.ops.attndrop.attention_bwd
    with pytest.raises(AttndropError, match=needle):
        op(*args)


@pytest.mark.parametrize("scheme", ["standard", "nonzero", "fixedcount", "token", "fcm"])
def test_row0_splits_a_batch_over_ranks_and_micro_batches(scheme):
    """Exact mode: two halves of a batch with row0 = 0 and row0 = 2 are the whole batch's rows, bit for bit."""
    q, k, v = qkv(B=4, T=33)
    whole = AF.scaled_dot_product_attention(q, k, v, dropout_p=0.4, is_causal=True, scheme=scheme,
                                            keys=(7, 5, 2, 0))
    halves = [AF.scaled_dot_product_attention(q[i:i + 2], k[i:i + 2], v[i:i + 2], dropout_p=0.4, is_causal=True,
                                              scheme=scheme, keys=(7, 5, 2, i)) for i in (0, 2)]
    assert torch.equal(whole, torch.cat(halves))
    same_rows = AF.scaled_dot_product_attention(q[2:], k[2:], v[2:], dropout_p=0.4, is_causal=True,
                                                scheme=scheme, keys=(7, 5, 2, 0))
    assert not torch.equal(same_rows, halves[1])  # row0 is what makes the second half differ


def test_attention_keys_module_resumes_and_steps():
    """AttentionKeys: its keys are in the state_dict (a resumed model continues the masks of its step),
    set_step moves them, and bad values are refused."""
    import attndrop.nn as ANN

    class Att(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.keys = ANN.AttentionKeys(seed=3, layer=1)

        def forward(self, q, k, v):
            return AF.scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True, scheme="nonzero",
                                                   keys=self.keys())

    q, k, v = qkv(T=20)
    a = Att()
    ANN.set_step(a, 7, row0=4)
    y7 = a(q, k, v)
    assert torch.equal(y7, AF.scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True,
                                                          scheme="nonzero", keys=(3, 7, 1, 4)))
    b = Att()
    b.load_state_dict(a.state_dict())
    assert b.keys.step == 7 and b.keys.row0 == 4 and torch.equal(b(q, k, v), y7)
    ANN.set_step(b, 8)
    assert not torch.equal(b(q, k, v), y7)
    with pytest.raises(AttndropError, match="step"):
        ANN.set_step(b, -1)
    with pytest.raises(AttndropError, match="layer"):
        ANN.AttentionKeys(layer=70000)
    with pytest.raises(AttndropError, match="step"):
        AF.scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True,
                                        keys=torch.tensor([1, -5, 0, 0], dtype=torch.int64))


def _lib_has_cuda() -> bool:
    """Whether the library under test answers that it can use a GPU (a CUDA build on a GPU, or an emulation)."""
    try:
        AF._cuda_ready(16)
        return True
    except AttndropError:
        return False


LIB_CUDA = _lib_has_cuda()
GPU = LIB_CUDA and torch.cuda.is_available()


def _both_paths(q, k, v, keys, scheme, p, device, cast):
    """Forward and backward of the CPU entry point and of the device one (q, k, v moved by cast)."""
    ks = torch.tensor(keys, dtype=torch.int64)
    i = SCHEMES.index(scheme)
    out, st = AF._fwd_impl(q, k, v, ks, 0.3, i, p)
    go = torch.randn(out.shape, generator=torch.Generator().manual_seed(9))
    dq, dk, dv = AF._bwd_impl(go, q, k, v, out, st, ks, 0.3, i, p)
    qd, kd, vd = cast(q), cast(k), cast(v)
    out2, st2 = AF._fwd_impl(qd, kd, vd, ks, 0.3, i, p, device=device)
    grads2 = AF._bwd_impl(cast(go), qd, kd, vd, out2, st2, ks, 0.3, i, p, device=device)
    return (out, st, dq, dk, dv), tuple(t.cpu() for t in (out2, st2) + tuple(grads2))


@pytest.mark.skipif(not LIB_CUDA or torch.cuda.is_available(),
                    reason="needs a library whose device is emulated (make CUDA_EMUL=1; tests/test_pytest.sh runs "
                           "the suite once with it) and no GPU")
@pytest.mark.parametrize("scheme", ATTENTION_SCHEMES)
def test_device_entry_points_emulated(scheme):
    """The ctypes bindings of ad_attention_forward_cuda/_backward_cuda and what the op passes them (views, out,
    fixedcount's scratch, no stream), on the CPU emulation of the device: the CPU op's values and zero rows."""
    q, k, v = qkv(T=40)
    ref, dev = _both_paths(q, k, v, (5, 3, 1, 2), scheme, 0.4, True, lambda t: t)
    assert torch.equal(ref[1][..., 0] == float("-inf"), dev[1][..., 0] == float("-inf"))
    for a, b in zip(ref[:1] + ref[2:], dev[:1] + dev[2:]):
        assert (a - b).abs().max().item() <= bound(40, 16) * max(1.0, b.abs().max().item())


@pytest.mark.skipif(not GPU, reason="needs a GPU and a libattndrop built with make CUDA=1 (ATTNDROP_LIB)")
@pytest.mark.parametrize("scheme", ATTENTION_SCHEMES)
def test_cuda_tensors_match_the_cpu(scheme):
    """CUDA tensors through the public op (custom op dispatch, PyTorch's stream) against the CPU op."""
    q, k, v = qkv(T=70)
    ref, dev = _both_paths(q, k, v, (5, 3, 1, 2), scheme, 0.3, None, lambda t: t.cuda())
    assert torch.equal(ref[1][..., 0] == float("-inf"), dev[1][..., 0] == float("-inf"))
    for a, b in zip(ref[:1] + ref[2:], dev[:1] + dev[2:]):
        assert (a - b).abs().max().item() <= bound(70, 16) * max(1.0, b.abs().max().item())
    qc, kc, vc = (t.cuda().requires_grad_() for t in (q, k, v))
    y = AF.scaled_dot_product_attention(qc, kc, vc, dropout_p=0.3, is_causal=True, scheme=scheme, keys=(5, 3, 1, 2))
    y.sum().backward()
    assert y.is_cuda and qc.grad is not None and qc.grad.is_cuda


@pytest.mark.skipif(LIB_CUDA, reason="the library under test has CUDA")
def test_cuda_refused_by_a_cpu_library():
    """A library built without CUDA refuses the device entry points, and the op says how to get one."""
    q, k, v = qkv(T=8)
    with pytest.raises(AttndropError, match="without CUDA"):
        AF._fwd_impl(q, k, v, torch.zeros(4, dtype=torch.int64), 0.25, SCHEMES.index("standard"), 0.2, device=True)
    with pytest.raises(AttndropError, match="make CUDA=1"):
        AF._cuda_ready(16)


@pytest.mark.skipif(not HAS_COMPILE, reason="needs torch.library.custom_op and torch.compile (PyTorch >= 2.4)")
def test_compile_no_graph_break_no_recompile():
    import torch._dynamo

    class Attn(torch.nn.Module):
        def __init__(self, C=32, H=4):
            super().__init__()
            self.H, self.qkv, self.proj = H, torch.nn.Linear(C, 3 * C), torch.nn.Linear(C, C)

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = (t.view(B, T, self.H, C // self.H).transpose(1, 2) for t in self.qkv(x).split(C, dim=2))
            y = AF.scaled_dot_product_attention(q, k, v, dropout_p=0.2 if self.training else 0.0, is_causal=True,
                                                scheme="nonzero")
            return self.proj(y.transpose(1, 2).contiguous().view(B, T, C))

    m = torch.nn.Sequential(Attn(), torch.nn.LayerNorm(32), Attn())
    x = torch.randn(4, 24, 32)
    explained = torch._dynamo.explain(m)(x)
    assert explained.graph_break_count == 0 and explained.graph_count == 1
    torch._dynamo.reset()
    frames = []
    cm = torch.compile(m, backend=lambda gm, ex: (frames.append(gm), gm.forward)[1])
    for _ in range(4):
        cm(x).sum().backward()
    assert len(frames) == 1  # one graph, no recompilation over 4 steps


@pytest.mark.skipif(not HAS_COMPILE, reason="needs torch.library.custom_op and torch.compile (PyTorch >= 2.4)")
@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
def test_compiled_generator_draws_as_eager(backend):
    """generator= compiles in one graph (fullgraph), and the compiled calls draw the generator's keys exactly as
    eager calls do: outputs and gradients equal, bit for bit, step after step; another generator recompiles."""
    import torch._dynamo
    torch._dynamo.reset()

    def f(q, k, v, g):
        return AF.scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True, scheme="nonzero", generator=g)

    cf = torch.compile(f, fullgraph=True, backend=backend)
    ge, gc = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    for _ in range(3):
        q, k, v = (t.detach().requires_grad_() for t in qkv(T=12))
        a = f(q, k, v, ge)
        ga = torch.autograd.grad(a.sum(), (q, k, v))
        b = cf(q, k, v, gc)
        gb = torch.autograd.grad(b.sum(), (q, k, v))
        assert torch.equal(a, b) and all(torch.equal(x, y) for x, y in zip(ga, gb))
    assert torch.equal(ge.get_state(), gc.get_state())
    g2 = torch.Generator().manual_seed(5)
    assert torch.equal(cf(q, k, v, g2), f(q, k, v, torch.Generator().manual_seed(5)))


@pytest.mark.skipif(not HAS_COMPILE, reason="needs torch.library.custom_op (PyTorch >= 2.4)")
def test_draw_key_op_refuses_an_unknown_generator():
    with pytest.raises(AttndropError, match="names no generator"):
        torch.ops.attndrop.draw_key(torch.zeros(1), 12345)


def test_generator_must_be_a_generator():
    q, k, v = qkv(T=4)
    with pytest.raises(AttndropError, match="torch.Generator"):
        AF.scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True, generator=7)


@pytest.mark.parametrize("general", [False, True])
def test_scratch_kept_between_calls_and_threads(general):
    """The op keeps its scratch between calls, one per Python thread: calls of growing and shrinking sizes, and
    calls from four threads at once, give what each call gives alone."""
    import threading
    shapes = [(2, 2, 40, 8), (1, 3, 150, 16), (2, 2, 9, 4), (1, 3, 150, 16)]
    kw = dict(dropout_p=0.3, scheme="nonzero", keys=(1, 2, 3))

    def call(shape, seed):
        g = torch.Generator().manual_seed(seed)
        q, k, v = (torch.randn(*shape, generator=g) for _ in range(3))
        mask = torch.ones(shape[2], shape[2], dtype=torch.bool).tril() if general else None
        q.requires_grad_(True)
        y = AF.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=not general, **kw)
        return y.detach(), torch.autograd.grad(y.sum(), q)[0]

    alone = [call(sh, i) for i, sh in enumerate(shapes)]
    again = [call(sh, i) for i, sh in enumerate(shapes)]
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(alone, again))
    results = [None] * 16

    def worker(t):
        for r in range(4):
            n = 4 * t + r
            results[n] = call(shapes[n % 4], n % 4)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(torch.equal(results[n][0], alone[n % 4][0]) and torch.equal(results[n][1], alone[n % 4][1])
               for n in range(16))


@pytest.mark.parametrize("general", [False, True])
def test_tensor_dropout_p(general):
    """A tensor dropout_p (a schedule kept in a buffer) gives what its value as a float gives, output and
    gradients, eager and compiled in one graph (fullgraph: no graph break); 0 drops nothing."""
    q, k, v = (t.detach().requires_grad_() for t in qkv(T=12))
    mask = torch.ones(12, 12, dtype=torch.bool).tril() if general else None

    def f(q, k, v, p):
        return AF.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, is_causal=not general,
                                               scheme="nonzero", keys=(1, 2, 3))

    want = f(q, k, v, 0.3)
    gw = torch.autograd.grad(want.sum(), (q, k, v))
    fns = [f]
    if HAS_COMPILE:
        importlib.import_module("torch._dynamo").reset()
        fns.append(torch.compile(f, fullgraph=True, backend="aot_eager"))
    for fn in fns:
        got = fn(q, k, v, torch.tensor(0.3))
        gg = torch.autograd.grad(got.sum(), (q, k, v))
        assert torch.equal(got, want) and all(torch.equal(a, b) for a, b in zip(gg, gw))
        assert torch.equal(fn(q, k, v, torch.tensor(0.0)), f(q, k, v, 0.0))


@pytest.mark.parametrize("bad,needle", [(torch.tensor([0.1, 0.2]), "one floating-point value"),
                                        (torch.tensor(1), "one floating-point value"),
                                        (torch.tensor(1.0), r"\[0, 1\)"),
                                        (torch.tensor(0.2, requires_grad=True), "requires grad")])
def test_tensor_dropout_p_refused(bad, needle):
    q, k, v = qkv(T=6)
    with pytest.raises(AttndropError, match=needle):
        AF.scaled_dot_product_attention(q, k, v, dropout_p=bad, is_causal=True)


def test_package_layout():
    """attndrop.nn holds the modules (as torch.nn), attndrop.torch keeps the same names."""
    import attndrop.nn
    import attndrop.torch
    assert attndrop.nn.AttentionDropout is attndrop.torch.AttentionDropout
    assert attndrop.nn.set_step is attndrop.torch.set_step
    assert callable(AF.scaled_dot_product_attention)
