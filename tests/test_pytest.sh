#!/usr/bin/env bash
# test_pytest.sh BUILD [PYTHON...] - the pytest suite of the Python package
# (tests/test_functional.py, tests/test_sdpa.py, tests/test_hf.py) and every snippet of docs/python.md (tests/test_docs.py) against BUILD's libattndrop.so, once per Python
# given (default: Debian's /usr/bin/python3 with python3-torch, and the venv
# .venv/ with current PyTorch from PyPI, which .ci/run and the README's
# install line make). Prints a SKIP line for a Python without torch or
# pytest. A sanitizer build's library runs the op's cases (test_functional.py,
# test_sdpa.py) in an interpreter started with the sanitizers' runtimes.
# The tally counts pytest's passed and failed tests over every Python.
set -u -o pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
pythons=("$@")
[ ${#pythons[@]} -eq 0 ] && pythons=(/usr/bin/python3 .venv/bin/python)
files=(tests/test_functional.py tests/test_sdpa.py tests/test_hf.py tests/test_docs.py)
deps=$(ldd "$build/libattndrop.so" 2>/dev/null)  # whole, then matched: grep -q could cut ldd short
preload=
if [[ "$deps" == *libasan* ]]; then
    # a sanitizer build: the interpreter starts with ASan's and UBSan's runtimes loaded first (they must come
    # before any other library), leaks unreported (the interpreter's own are many), and runs the op's cases
    preload=$(awk '/lib(asan|ubsan)\.so/ { printf "%s ", $3 }' <<<"$deps")
    export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
    files=(tests/test_functional.py tests/test_sdpa.py)
    echo "== the op's cases under the sanitizers (LD_PRELOAD=$preload)"
fi
export ATTNDROP_LIB=$PWD/$build/libattndrop.so
passed=0 failed=0 rc=0
for py in "${pythons[@]}"; do
    if ! [ -x "$py" ] || ! "$py" -c "import torch, numpy, pytest" >/dev/null 2>&1; then
        echo "SKIP: pytest with $py (needs torch, numpy and pytest there: python3 -m venv .venv && .venv/bin/pip install torch numpy pytest)"
        continue
    fi
    echo "== pytest with $py (PyTorch $("$py" -c 'import torch; print(torch.__version__)'))"
    out=$(LD_PRELOAD=$preload "$py" -m pytest -q -p no:cacheprovider "${files[@]}" 2>&1); r=$?
    printf '%s\n' "$out" | tail -n 25
    line=$(printf '%s\n' "$out" | tail -n 1)
    p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || echo 0)
    f=$(grep -oE '[0-9]+ (failed|errors?)' <<<"$line" | awk '{ s += $1 } END { print s + 0 }')
    passed=$((passed + p)); failed=$((failed + f))
    if [ $r -ne 0 ]; then rc=1; [ "$f" -eq 0 ] && failed=$((failed + 1)); fi
    [ "$p" -gt 0 ] || { echo "FAIL: pytest with $py ran no test"; rc=1; failed=$((failed + 1)); }
done
echo "pytest: $passed passed, $failed failed"
exit $rc
