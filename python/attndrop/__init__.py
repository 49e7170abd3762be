"""attndrop from Python: the 15 attention-dropout schemes as PyTorch modules
with the C library's exact masks (attndrop.torch), gpt.py's model and
attndrop's checkpoints (attndrop.gpt), and the C library itself through
ctypes (attndrop.lib). See docs/python.md."""
from .errors import AttndropError
from .schemes import SCHEMES, attention_masks, input_multipliers, where

# the names the docs use, exported explicitly (mypy --strict re-exports nothing implicitly)
__all__ = ["AttndropError", "SCHEMES", "attention_masks", "input_multipliers", "where"]

__version__ = "0.1.0"
