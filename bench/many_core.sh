#!/bin/sh
# many_core.sh DEBDIR [SWEEP] - build attndrop and measure its thread scaling on a
# machine without Debian packages or network (a many-core node, a GPU machine's
# host), in one run:
#   1. unpack the runtime packages in DEBDIR (OpenBLAS, cJSON and what they need:
#      `apt-get download libopenblas0-openmp libopenblas-openmp-dev libxsmm-dev libcjson1
#      libcjson-dev libgfortran5 libquadmath0` on a Debian 12 machine) into a prefix;
#   2. build against them (make BLAS_CFLAGS=... BLAS_LIBS=...);
#   3. check that training is bitwise the same at 1 and at all threads (test_model);
#   4. print the per-kernel table at all threads and the thread sweep (default
#      1,2,4,8,16) of attndrop against this machine's python3 torch.
# Output goes to stdout and to $OUT (or build-many/) as CSV files; QUICK=1 for a smoke run.
set -e
debs=${1:?usage: bench/many_core.sh DEBDIR [1,2,4,8,16]}
counts=${2:-1,2,4,8,16}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/build-many}
prefix=$out/prefix
. "$root/bench/unpack_debs.sh"
cores=$(nproc)
echo "== $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $cores CPUs"
cd "$root"
make -j"$cores" BUILD="$out/build" BLAS_CFLAGS="$BLAS_CFLAGS" BLAS_LIBS="$BLAS_LIBS" \
    "$out/build/attndrop" "$out/build/tests/test_model" "$out/build/bench_layers" "$out/build/bench_gemm" >/dev/null
echo "== thread independence (test_model at up to 3 threads, then the whole run at $cores)"
OMP_NUM_THREADS=$cores "$out/build/tests/test_model" | tail -3
echo "== kernels at $cores threads"
OMP_NUM_THREADS=$cores "$out/build/bench_layers" --config all --csv "$out/bench_layers.csv" | grep -v '^#'
echo "== thread sweep"
python3 bench/bench.py --build "$out/build" --python python3 --sweep "$counts" --configs small,lecture \
    --out "$out/bench.csv" ${QUICK:+--quick}
