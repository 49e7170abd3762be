# unpack_debs.sh - sourced by many_core.sh and gpu.sh: unpacks the runtime
# packages in $debs (OpenBLAS, cJSON, libxsmm and what they need: `apt-get
# download libopenblas0-openmp libopenblas-openmp-dev libcjson1 libcjson-dev
# libgfortran5 libquadmath0 libxsmm-dev` on a Debian 12 machine) into $prefix
# and sets BLAS_CFLAGS and BLAS_LIBS for make, exports XSMM_CFLAGS and
# XSMM_LIBS (or NO_XSMM=1 where libxsmm's package is missing), which make reads
# from the environment, and LD_LIBRARY_PATH, for a machine without packages.
mkdir -p "$prefix"
found=0
for d in "$debs"/*.deb; do
    [ -e "$d" ] || continue
    dpkg -x "$d" "$prefix" 2>/dev/null || (cd "$prefix" && ar p "$d" data.tar.xz | tar xJ)
    found=$((found + 1))
done
[ "$found" -gt 0 ] || { echo "no .deb files in $debs" >&2; exit 2; }
lib=$prefix/usr/lib/x86_64-linux-gnu
inc=$prefix/usr/include
# Debian's OpenBLAS finds its library through alternatives; point at the OpenMP one directly.
blaslib=$(dirname "$(find "$lib" -name 'libopenblas*.so*' -path '*openmp*' | head -1)")
blasinc=$(find "$inc" -name cblas.h -path '*openmp*' -exec dirname {} \; | head -1)
[ -n "$blaslib" ] && [ -n "$blasinc" ] || { echo "no OpenMP OpenBLAS in $debs" >&2; exit 2; }
[ -e "$blaslib/libopenblas.so" ] || ln -sf "$(ls "$blaslib"/libopenblas*.so.* | head -1)" "$blaslib/libopenblas.so"
[ -e "$lib/libcjson.so" ] || ln -sf "$(ls "$lib"/libcjson.so.* | head -1)" "$lib/libcjson.so"
export LD_LIBRARY_PATH="$blaslib:$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
BLAS_CFLAGS="-I$blasinc -I$inc"
BLAS_LIBS="-L$blaslib -L$lib -Wl,-rpath,$blaslib -Wl,-rpath,$lib -lopenblas"
# libxsmm is a static library (in usr/lib, not the multiarch directory)
if [ -e "$prefix/usr/lib/libxsmm.a" ]; then
    export XSMM_CFLAGS="-I$inc" XSMM_LIBS="-L$prefix/usr/lib -lxsmm -lpthread -lrt -ldl"
else
    echo "(no libxsmm-dev in $debs: building with NO_XSMM=1)"
    export NO_XSMM=1
fi
