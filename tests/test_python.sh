#!/usr/bin/env bash
# test_python.sh BUILD PYTHON - the Python package (tests/test_python.py) against
# BUILD's libattndrop.so and attndrop. Prints a SKIP line without PyTorch and
# NumPy, and for a sanitizer build (its library cannot load into Python).
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
python=${2:-/usr/bin/python3}
if ! "$python" -c "import torch, numpy" >/dev/null 2>&1; then
    echo "SKIP: Python package tests (need $python with torch and numpy: apt-get install python3-torch python3-numpy)"
    exit 0
fi
if ldd "$build/libattndrop.so" 2>/dev/null | grep -q 'libasan'; then
    echo "SKIP: Python package tests (a sanitizer build's library cannot load into Python)"
    exit 0
fi
exec "$python" tests/test_python.py "$build" "$build/attndrop"
