#!/bin/sh
# many_core.sh DEBDIR [SWEEP] - build attndrop and measure its thread scaling on a
# machine without Debian packages or network (a many-core node, a GPU machine's
# host), in one run:
#   1. unpack the runtime packages in DEBDIR (OpenBLAS, cJSON and what they need:
#      `apt-get download libopenblas0-openmp libopenblas-openmp-dev libcjson1
#      libcjson-dev libgfortran5 libquadmath0` on a Debian 12 machine) into a prefix;
#   2. build against them (make BLAS_CFLAGS=... BLAS_LIBS=...);
#   3. check that training is bitwise the same at 1 and at all threads (test_model);
#   4. print the per-kernel table at all threads and the thread sweep (default
#      1,2,4,8,16) of attndrop against this machine's python3 torch.
# Output goes to stdout and to $OUT (or build-many/) as CSV files.
set -e
debs=${1:?usage: bench/many_core.sh DEBDIR [1,2,4,8,16]}
counts=${2:-1,2,4,8,16}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/build-many}
prefix=$out/prefix
mkdir -p "$prefix"
found=0
for d in "$debs"/*.deb; do
    [ -e "$d" ] || continue
    dpkg -x "$d" "$prefix" 2>/dev/null || (cd "$prefix" && ar p "$d" data.tar.xz | tar xJ)
    found=$((found + 1))
done
[ "$found" -gt 0 ] || { echo "many_core.sh: no .deb files in $debs" >&2; exit 2; }
lib=$prefix/usr/lib/x86_64-linux-gnu
inc=$prefix/usr/include
# Debian's OpenBLAS finds its library through alternatives; point at the OpenMP one directly.
blaslib=$(dirname "$(find "$lib" -name 'libopenblas*.so*' -path '*openmp*' | head -1)")
blasinc=$(find "$inc" -name cblas.h -path '*openmp*' -exec dirname {} \; | head -1)
[ -n "$blaslib" ] && [ -n "$blasinc" ] || { echo "many_core.sh: no OpenMP OpenBLAS in $debs" >&2; exit 2; }
[ -e "$blaslib/libopenblas.so" ] || ln -sf "$(ls "$blaslib"/libopenblas*.so.* | head -1)" "$blaslib/libopenblas.so"
[ -e "$lib/libcjson.so" ] || ln -sf "$(ls "$lib"/libcjson.so.* | head -1)" "$lib/libcjson.so"
export LD_LIBRARY_PATH="$blaslib:$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cores=$(nproc)
echo "== $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $cores CPUs"
cd "$root"
make -j"$cores" BUILD="$out/build" BLAS_CFLAGS="-I$blasinc -I$inc" \
    BLAS_LIBS="-L$blaslib -L$lib -Wl,-rpath,$blaslib -Wl,-rpath,$lib -lopenblas" \
    "$out/build/attndrop" "$out/build/tests/test_model" "$out/build/bench_kernels" "$out/build/bench_gemm" >/dev/null
echo "== thread independence (test_model at up to 3 threads, then the whole run at $cores)"
OMP_NUM_THREADS=$cores "$out/build/tests/test_model" | tail -3
echo "== kernels at $cores threads"
OMP_NUM_THREADS=$cores "$out/build/bench_kernels" --config all --csv "$out/bench_kernels.csv" | grep -v '^#'
echo "== thread sweep"
python3 bench/bench.py --build "$out/build" --python python3 --sweep "$counts" --configs small,lecture \
    --out "$out/bench.csv"
