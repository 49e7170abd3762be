"""pytest: attndrop.hf, attn_implementation="attndrop" in Hugging Face transformers models built from configs (no
download): a Llama-style model (grouped-query heads, RoPE) and a GPT-2-style one, on left-padded batches. At
p = 0 the loss and every gradient equal attn_implementation="sdpa"'s, through the fused op; with a scheme they
train, eager and compiled; without gradients the call goes to transformers' SDPA. Skipped where transformers
is not installed (.ci/run installs it in .venv/)."""
import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
transformers = pytest.importorskip("transformers")
try:
    from transformers import AttentionInterface  # noqa: F401  (4.48 and later)
except ImportError:
    pytest.skip("transformers without AttentionInterface", allow_module_level=True)
import attndrop.functional as AF  # noqa: E402
import attndrop.hf  # noqa: E402
from attndrop import AttndropError  # noqa: E402

attndrop.hf.register()
V, T = 61, 12


def llama(impl, p=0.0, scheme=None, seed=0):
    torch.manual_seed(seed)
    c = transformers.LlamaConfig(vocab_size=V, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                 num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                                 attention_dropout=p)
    if scheme:
        c.attndrop_scheme = scheme
    return transformers.LlamaForCausalLM._from_config(c, attn_implementation=impl)


def gpt2(impl, p=0.0, scheme=None, seed=0):
    torch.manual_seed(seed)
    c = transformers.GPT2Config(vocab_size=V, n_positions=64, n_embd=32, n_layer=2, n_head=4, attn_pdrop=p,
                                resid_pdrop=0.0, embd_pdrop=0.0)
    if scheme:
        c.attndrop_scheme = scheme
    return transformers.GPT2LMHeadModel._from_config(c, attn_implementation=impl)


def batch():
    ids = torch.randint(0, V, (3, T), generator=torch.Generator().manual_seed(1))
    mask = torch.ones(3, T, dtype=torch.long)
    mask[1, :4] = 0  # left padding, as generation batches are padded
    mask[2, :7] = 0
    labels = ids.masked_fill(mask == 0, -100)
    return ids, mask, labels


class Count:
    """Counts the fused op's calls."""

    def __init__(self, monkeypatch):
        self.n = 0
        real = AF.scaled_dot_product_attention

        def counted(*a, **k):
            self.n += 1
            return real(*a, **k)
        monkeypatch.setattr(AF, "scaled_dot_product_attention", counted)


@pytest.mark.parametrize("make", [llama, gpt2], ids=["llama", "gpt2"])
def test_no_dropout_equals_sdpa(make, monkeypatch):
    """Loss and every gradient as attn_implementation="sdpa" (float32 sums of at most T products: 1e-5 is far
    above their rounding and far below a wrong mask or head)."""
    calls = Count(monkeypatch)
    ids, mask, labels = batch()
    ms, ma = make("sdpa").train(), make("attndrop").train()
    ls = ms(input_ids=ids, attention_mask=mask, labels=labels).loss
    la = ma(input_ids=ids, attention_mask=mask, labels=labels).loss
    ls.backward()
    la.backward()
    assert calls.n == 2  # one fused call per layer
    assert abs(ls.item() - la.item()) < 1e-5
    for (name, a), b in zip(ms.named_parameters(), ma.parameters()):
        assert torch.allclose(a.grad, b.grad, atol=1e-5, rtol=1e-4), name


def _train(model, steps=30, compile_backend=None):
    ids, mask, labels = batch()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    step = model if compile_backend is None else torch.compile(model, backend=compile_backend)
    losses = []
    for _ in range(steps):
        loss = step(input_ids=ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("scheme", ["nonzero", "fixedcount", "dropkey", "column"])
def test_a_scheme_trains_llama(scheme, monkeypatch):
    calls = Count(monkeypatch)
    torch.manual_seed(3)
    losses = _train(llama("attndrop", p=0.3, scheme=scheme).train())
    assert calls.n == 2 * 30
    assert losses[-1] < losses[0] - 0.5


def test_the_scheme_is_applied():
    ids, mask, labels = batch()
    torch.manual_seed(5)
    a = llama("attndrop", p=0.5, scheme="nonzero").train()(input_ids=ids, attention_mask=mask, labels=labels).loss
    b = llama("attndrop", p=0.0).train()(input_ids=ids, attention_mask=mask, labels=labels).loss
    assert abs(a.item() - b.item()) > 1e-4


@pytest.mark.skipif(not AF._HAS_CUSTOM_OP, reason="needs torch.library.custom_op (PyTorch >= 2.4)")
def test_compiled_training():
    """torch.compile (AOT autograd, eager kernels: the graph, not inductor's code generation) trains a Llama-style
    model with a scheme, and at p = 0 its losses are the eager model's."""
    eager = _train(llama("attndrop").train(), steps=4)
    compiled = _train(llama("attndrop").train(), steps=4, compile_backend="aot_eager")
    assert max(abs(a - b) for a, b in zip(eager, compiled)) < 1e-5
    torch.manual_seed(3)
    losses = _train(llama("attndrop", p=0.3, scheme="nonzero").train(), steps=20, compile_backend="aot_eager")
    assert losses[-1] < losses[0] - 0.3


def test_inference_goes_to_sdpa(monkeypatch):
    calls = Count(monkeypatch)
    ids, mask, _ = batch()
    ma, ms = llama("attndrop").eval(), llama("sdpa").eval()
    with torch.no_grad():
        a = ma(input_ids=ids, attention_mask=mask).logits
        b = ms(input_ids=ids, attention_mask=mask).logits
        out = ma.generate(input_ids=ids, attention_mask=mask, max_new_tokens=3, do_sample=False)
    assert calls.n == 0 and torch.equal(a, b) and out.shape == (3, T + 3)


def test_a_bad_scheme_is_refused():
    ids, mask, labels = batch()
    with pytest.raises(AttndropError, match="attndrop_scheme"):
        llama("attndrop", p=0.1, scheme="word").train()(input_ids=ids, attention_mask=mask, labels=labels)
