"""Every ```python snippet of docs/python.md runs as written: each in a fresh interpreter, in a directory that
holds out/model.safetensors (the checkpoint `make demo` leaves; here the committed fixture), with the package on
sys.path and the library of ATTNDROP_LIB. A snippet that needs transformers is skipped where it is missing."""
import importlib.util
import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "python.md")


def _snippets():
    text = open(DOC, encoding="utf-8").read()
    out = []
    for m in re.finditer(r"^```python\n(.*?)^```$", text, re.S | re.M):
        line = text.count("\n", 0, m.start()) + 1
        out.append(pytest.param(m.group(1), id=f"python.md:{line}"))
    return out


SNIPPETS = _snippets()


def test_the_docs_have_snippets():
    assert len(SNIPPETS) >= 6, "docs/python.md lost its snippets (or this test's pattern no longer finds them)"


@pytest.mark.parametrize("code", SNIPPETS)
def test_snippet_runs(code, tmp_path):
    if re.search(r"^import .*\btransformers\b", code, re.M) and importlib.util.find_spec("transformers") is None:
        pytest.skip("the snippet needs transformers")
    os.makedirs(tmp_path / "out")
    shutil.copy(os.path.join(ROOT, "tests", "fixtures", "greedy.safetensors"), tmp_path / "out" / "model.safetensors")
    (tmp_path / "snippet.py").write_text(code, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"), OMP_NUM_THREADS="2")
    r = subprocess.run([sys.executable, "snippet.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, f"the snippet failed:\n{code}\n--- stderr:\n{r.stderr[-3000:]}"
