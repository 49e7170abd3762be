"""attndrop.hf: any attention scheme in Hugging Face transformers models, as attn_implementation="attndrop".

    import attndrop.hf
    attndrop.hf.register()                       # once: registers "attndrop" with transformers
    config = LlamaConfig(..., attention_dropout=0.1)
    config.attndrop_scheme = "nonzero"           # any of attndrop.SCHEMES but word and embedding; default standard
    model = LlamaForCausalLM._from_config(config, attn_implementation="attndrop")

The model's own dropout rate (attention_dropout, attn_pdrop: what it passes to its attention function while
training) is applied with the config's scheme by attndrop's fused op, which takes every mask transformers builds
(left or right padding, sliding windows, packed sequences: SDPA's boolean masks, registered here as the mask
function), grouped-query heads without repeating them, and T_q != T_k. Where nothing trains (no gradient is
being recorded: generation, evaluation under torch.no_grad), the call goes to transformers' own SDPA attention:
dropout is off there and the fused op has nothing to add. What the op cannot compute raises AttndropError.
"""
from typing import Any, Optional, Tuple

import torch

from . import functional as AF
from .errors import AttndropError
from .schemes import SCHEMES, where

__all__ = ["register", "attention_forward", "NAME"]

NAME = "attndrop"


def _scheme(module: torch.nn.Module) -> str:
    config = getattr(module, "config", None)
    scheme = getattr(config, "attndrop_scheme", "standard") if config is not None else "standard"
    if not isinstance(scheme, str) or scheme not in SCHEMES or where(scheme) == "input":
        raise AttndropError(f"config.attndrop_scheme must be an attention scheme of {', '.join(SCHEMES)} (not word "
                            f"or embedding), got {scheme!r}")
    return scheme


def attention_forward(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                      attention_mask: Optional[torch.Tensor], dropout: float = 0.0, scaling: Optional[float] = None,
                      is_causal: Optional[bool] = None, position_bias: Optional[torch.Tensor] = None,
                      **kwargs: Any) -> Tuple[torch.Tensor, None]:
    """transformers' attention-function signature: query (B, H, T_q, E), key and value (B, H_kv, T_k, E[_v]), the
    mask transformers made (boolean, True: attend; or additive), the model's dropout rate; returns the output as
    (B, T_q, H, E_v) and no weights."""
    for name in ("softcap", "s_aux", "sinks"):
        if kwargs.get(name) is not None:
            raise AttndropError(f"attn_implementation='attndrop' does not support {name} (use 'eager')")
    if not torch.is_grad_enabled():  # nothing trains: transformers' SDPA, with its fast paths for generation
        from transformers.integrations.sdpa_attention import sdpa_attention_forward
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      is_causal=is_causal, position_bias=position_bias, **kwargs)
    q_len = query.shape[2]
    causal = is_causal if is_causal is not None else getattr(module, "is_causal", True)
    causal = bool(q_len > 1 and attention_mask is None and causal)
    if position_bias is not None:
        from transformers.integrations.sdpa_attention import create_position_bias_mask
        attention_mask = create_position_bias_mask(position_bias, attention_mask, causal, query, key)
        causal = False
    if attention_mask is not None and attention_mask.dim() == 4 and attention_mask.shape[-1] != key.shape[2]:
        attention_mask = attention_mask[..., : key.shape[2]]  # a static cache's mask may run past its keys
    out = AF.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask, dropout_p=float(dropout),
                                          is_causal=causal, scale=scaling, enable_gqa=key.shape[1] != query.shape[1],
                                          scheme=_scheme(module))
    return out.transpose(1, 2).contiguous(), None


def register(name: str = NAME) -> str:
    """Registers attention_forward with transformers' AttentionInterface, and SDPA's boolean masks with its
    AttentionMaskInterface, under `name`; returns the name, for attn_implementation=. Raises AttndropError
    where transformers (with AttentionInterface, 4.48 or later) is not installed."""
    try:
        from transformers import AttentionInterface
        from transformers.masking_utils import AttentionMaskInterface, sdpa_mask
    except ImportError as e:
        raise AttndropError(f"attndrop.hf needs transformers with AttentionInterface (pip install transformers): "
                            f"{e}") from None
    AttentionInterface.register(name, attention_forward)
    AttentionMaskInterface.register(name, sdpa_mask)
    return name
