"""gptpy.py - the tests' and benchmarks' name for attndrop.gpt (python/attndrop/gpt.py): gpt.py's model, its
parity hooks and the safetensors reader/writer, used from the source tree."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

from attndrop.gpt import *  # noqa: E402,F401,F403
