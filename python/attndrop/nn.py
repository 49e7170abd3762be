"""attndrop.nn: the modules, laid out as PyTorch's torch.nn (the op is attndrop.functional).

AttentionDropout applies a scheme to attention weights you computed; ExactDropout is nn.Dropout with the C
trainer's masks on a (B, T, C) activation; AttentionKeys holds the fused op's exact-mode keys as a buffer;
set_step sets every such module's step in exact mode. The same
names stay importable from attndrop.torch."""
from .torch import AttentionDropout, AttentionKeys, ExactDropout, set_step

__all__ = ["AttentionDropout", "AttentionKeys", "ExactDropout", "set_step"]
