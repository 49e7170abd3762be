#!/usr/bin/env bash
# test_python.sh BUILD PYTHON - the Python package (tests/test_python.py, then
# its boundary's tests/test_python_robust.py) against BUILD's libattndrop.so
# and attndrop; fails if either fails. Prints a SKIP line without PyTorch and
# NumPy, and for a sanitizer build (its library cannot load into Python).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
python=${2:-/usr/bin/python3}
if ! "$python" -c "import torch, numpy" >/dev/null 2>&1; then
    echo "SKIP: Python package tests (need $python with torch and numpy: apt-get install python3-torch python3-numpy)"
    exit 0
fi
libs=$(ldd "$build/libattndrop.so" 2>/dev/null)
if grep -q 'libasan' <<<"$libs"; then
    echo "SKIP: Python package tests (a sanitizer build's library cannot load into Python)"
    exit 0
fi
# both scripts, then one tally of the two (tests/run_all.sh counts the last tally line); either failing fails this
rc=0 passed=0 failed=0
for t in test_python.py test_python_robust.py; do
    out=$("$python" "tests/$t" "$build" "$build/attndrop" 2>&1) || rc=1
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E '^[a-z-]+: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$line" ]; then echo "FAIL: tests/$t printed no tally"; rc=1; failed=$((failed + 1)); continue; fi
    passed=$((passed + $(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")))
    failed=$((failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
done
echo "python-all: $passed passed, $failed failed"
exit $rc
