#!/usr/bin/env bash
# test_install.sh BUILD [PYTHON] - `pip install ./python` as a user does it: into a fresh virtual environment
# (with the system's site packages, for torch and numpy), then, from another directory and without
# ATTNDROP_LIB, the installed package loads the library it was built with (its own copy, which `make` puts
# in python/attndrop/), computes with it, and carries its type hints (py.typed). Prints a SKIP line where
# PYTHON lacks venv, setuptools, torch or numpy, and for a build other than the default one (the package
# copies the default build's library only).
set -u -o pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
build=${1:-build}
py=${2:-/usr/bin/python3}
if [ "$build" != build ] || [ ! -f python/attndrop/libattndrop.so ]; then
    echo "SKIP: pip install ./python (the package holds the default build's library; run make)"
    exit 0
fi
if ! "$py" -c "import venv, setuptools, torch, numpy" >/dev/null 2>&1; then
    echo "SKIP: pip install ./python (needs $py with venv, setuptools, torch and numpy: apt-get install python3-venv python3-setuptools python3-torch python3-numpy)"
    exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$py" -m venv --system-site-packages "$tmp/venv" && ok || bad "python3 -m venv"
cp -r python "$tmp/src"  # pip builds in the tree it is given: a copy keeps the source tree clean
"$tmp/venv/bin/pip" install -q --no-deps --no-build-isolation "$tmp/src" > "$tmp/pip.log" 2>&1 && ok ||
    bad "pip install ./python: $(tail -n 3 "$tmp/pip.log")"
cd "$tmp"
out=$(env -u ATTNDROP_LIB "$tmp/venv/bin/python" - 2>&1 <<'PY'
import os, attndrop, attndrop.lib as lib
import attndrop.functional as AF
import torch
here = os.path.dirname(attndrop.__file__)
assert "site-packages" in here, here
assert lib._find() == os.path.join(here, "libattndrop.so"), lib._find()
lib.library()
assert os.path.exists(os.path.join(here, "py.typed"))
q = torch.randn(1, 2, 8, 4)
y = AF.scaled_dot_product_attention(q, q, q, dropout_p=0.2, is_causal=True, keys=(1, 2, 0))
assert y.shape == (1, 2, 8, 4)
print("installed:", lib._find())
PY
) && ok || bad "the installed package: $out"
echo "$out"
tally install
