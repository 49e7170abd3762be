#!/usr/bin/env bash
# test_torch.sh BUILD PYTHON - the live comparison with PyTorch (Debian's
# python3-torch): fresh parity inputs through gpt.py's model and back through
# test_parity, and greedy samples of a freshly trained checkpoint. Without
# torch it prints SKIP (the committed fixtures still run in test_parity and
# test_cli.sh).
set -u -o pipefail  # test_parity's status survives the grep and sed of its lines below
cd "$(dirname "$0")/.."
. tests/lib.sh
B=${1:-build}
PY=${2:-/usr/bin/python3}
if ! "$PY" -c 'import torch, numpy' >/dev/null 2>&1; then
    echo "SKIP: live PyTorch parity ($PY cannot import torch and numpy)"
    tally torch
    exit
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$B/tests/parity_dump" "$tmp/in.safetensors" && ok || bad "parity_dump"
"$PY" tests/parity.py fixture "$tmp/in.safetensors" "$tmp/out.safetensors" && ok || bad "parity.py fixture"
"$B/tests/test_parity" "$tmp/out.safetensors" >/dev/null && ok || bad "live parity with PyTorch (standard, 10 steps)"
schemes=$("$B/attndrop" schemes | cut -d' ' -f1) && [ -n "$schemes" ] || bad "attndrop schemes lists no scheme"
for s in $schemes; do
    "$B/tests/parity_dump" "$tmp/in_$s.safetensors" "$s" 3 &&
        "$PY" tests/parity.py fixture "$tmp/in_$s.safetensors" "$tmp/out_$s.safetensors" >/dev/null &&
        "$B/tests/test_parity" "$tmp/out_$s.safetensors" | grep -E '^(gradients|weights)' | sed "s/^/$s: /" &&
        ok || bad "live parity with PyTorch, scheme $s"
done
# A context of 150 crosses the attention's blocks of 64 rows, the last one partial.
for s in standard dropkey nonzero; do
    "$B/tests/parity_dump" "$tmp/long_$s.safetensors" "$s" 2 150 &&
        "$PY" tests/parity.py fixture "$tmp/long_$s.safetensors" "$tmp/long_out_$s.safetensors" >/dev/null &&
        "$B/tests/test_parity" "$tmp/long_out_$s.safetensors" | grep -E '^(gradients|weights)' | sed "s/^/$s, T=150: /" &&
        ok || bad "live parity with PyTorch at block size 150, scheme $s"
done

for cfg in "--n-embd 32 --n-head 4 --n-layer 3 --block-size 24" "--n-embd 48 --n-head 3 --n-layer 1 --block-size 8"; do
    # shellcheck disable=SC2086
    "$B/attndrop" train --batch-size 8 $cfg --learning-rate 2e-3 --max-iters 150 --eval-interval 1000 \
        --eval-iters 1 --out "$tmp/g" --overwrite >/dev/null 2>&1 || bad "training for greedy parity"
    c=$("$B/attndrop" sample --ckpt "$tmp/g/model.safetensors" --temperature 0 --max-new-tokens 300) || bad "attndrop sample failed ($cfg)"
    t=$("$PY" tests/parity.py greedy "$tmp/g/model.safetensors" 300) || bad "parity.py greedy failed ($cfg)"
    echo "greedy ($cfg): $(printf "%s" "${c:0:60}" | tr "\n" " ")..."
    [ ${#c} -eq 301 ] && [ "$c" = "$t" ] && ok || bad "greedy samples differ: attndrop '$c' torch '$t'"
done
tally torch
