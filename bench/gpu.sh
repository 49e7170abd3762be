#!/bin/sh
# gpu.sh DEBDIR - what the CUDA back end can show, in one run on a machine with
# an NVIDIA GPU and no Debian packages or network:
#   1. unpack OpenBLAS and cJSON from DEBDIR (see bench/unpack_debs.sh);
#   2. build with make CUDA=1 (nvcc from PATH or /usr/local/cuda/bin);
#   3. tests/test_cuda: every GPU kernel and every scheme's attention against the
#      CPU kernels (masks bit for bit, values within fp32 rounding), with the
#      attention's milliseconds per call;
#   4. PyTorch's attention (scaled_dot_product_attention and gpt.py's Head) at
#      the same shapes, for comparison;
#   5. the PyTorch op (attndrop.functional) on CUDA tensors: its pytest cases
#      against the CPU op, then bench/functional.py --device cuda (every scheme
#      against SDPA at p = 0.2 and p = 0 on the same GPU).
# Output goes to stdout and to $OUT (or build-gpu/).
set -e
debs=${1:?usage: bench/gpu.sh DEBDIR}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/build-gpu}
prefix=$out/prefix
. "$root/bench/unpack_debs.sh"
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "(no nvidia-smi)"
cd "$root"
make -j"$(nproc)" CUDA=1 NVCC="$nvcc" BUILD="$out/build" BLAS_CFLAGS="$BLAS_CFLAGS" BLAS_LIBS="$BLAS_LIBS" \
    "$out/build/tests/test_cuda" "$out/build/attndrop" "$out/build/libattndrop.so" >"$out/build.log" 2>&1 || { tail -20 "$out/build.log"; exit 1; }
echo "== test_cuda: the GPU against the CPU"
"$out/build/tests/test_cuda" >"$out/test_cuda.txt" 2>&1 || status=1
cat "$out/test_cuda.txt"
echo "== PyTorch at the same shapes"
python3 bench/torch_attention.py | tee "$out/torch_attention.jsonl" || true
echo "== the PyTorch op on CUDA tensors"
ATTNDROP_LIB="$out/build/libattndrop.so" python3 -m pytest -q -p no:cacheprovider tests/test_functional.py \
    -k "cuda or compile" >"$out/pytest_cuda.txt" 2>&1 || status=1
tail -n 15 "$out/pytest_cuda.txt"
ATTNDROP_LIB="$out/build/libattndrop.so" python3 bench/functional.py --device cuda --repeat 10 \
    >"$out/functional_cuda.md" 2>&1 || status=1
cat "$out/functional_cuda.md"
exit ${status:-0}
