#!/usr/bin/env bash
# test_e2e.sh BUILD - 300 training steps of a small config (B16 T32 C64 H4 L4,
# dropout 0.2, lr 1e-3) must reach a val loss under a bound measured with
# PyTorch: tests/e2e_torch.py runs gpt.py's loop on the same text and config;
# over seeds 1-5 its val loss at step 299 was at most 2.4575 on tiny
# Shakespeare and 1.9585 on the built-in markov text (attndrop text > FILE).
# The bounds add 0.05 to those maxima. Tiny Shakespeare comes from
# ../shared/data (or $ATTNDROP_SHAKESPEARE); without it that half is skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
A=${1:-build}/attndrop
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cfg=(--batch-size 16 --block-size 32 --n-embd 64 --n-head 4 --n-layer 4 --dropout 0.2 --learning-rate 1e-3
     --max-iters 300 --eval-interval 1000 --eval-iters 50)

check_run() { # name bound args...
    local name=$1 bound=$2; shift 2
    if ! $A train "${cfg[@]}" "$@" --out "$tmp/$name" >/dev/null 2>"$tmp/err"; then
        bad "$name: training failed: $(tail -n 1 "$tmp/err")"; return
    fi
    local last val
    last=$(tail -n 1 "$tmp/$name/log.csv")
    val=$(cut -d, -f3 <<<"$last")
    echo "$name: val loss at step 299 = $val (bound $bound)"
    # the last row is step 299's and its loss a number (an empty or missing one is not under the bound)
    awk -v s="${last%%,*}" -v v="$val" -v b="$bound" 'BEGIN { exit !(s == "299" && v ~ /^[0-9]+(\.[0-9]*)?$/ && v + 0 < b) }' && ok ||
        bad "$name: val loss at step 299 '$val' is not under $bound (last row '$last')"
}

check_run markov 2.0085 --task markov
h=$($A text --entropy) || bad "text --entropy failed"
echo "markov: entropy rate (the floor) = $h"
awk -v h="$h" 'BEGIN { exit !(h > 1.0 && h < 2.0) }' && ok || bad "entropy rate $h"

shakespeare=${ATTNDROP_SHAKESPEARE:-../shared/data/tinyshakespeare.txt}
if [ -r "$shakespeare" ]; then
    check_run shakespeare 2.5075 --data "$shakespeare"
else
    echo "SKIP: tiny Shakespeare end-to-end ($shakespeare not found)"
fi
tally e2e
