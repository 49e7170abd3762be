#!/bin/bash
# test_gpu_cli.sh BUILD - `train --device cuda` end to end, in a build with the
# GPU path (CUDA=1 on a GPU, or CUDA_EMUL=1 anywhere): the same losses as on
# the CPU, a run saved and resumed on the device, and the commands that stay on
# the CPU saying so.
set -o pipefail
cd "$(dirname "$0")/.." || exit 2
. tests/lib.sh
A=${1:?usage: tests/test_gpu_cli.sh BUILD}/attndrop
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args="--task markov --batch-size 8 --block-size 16 --n-embd 32 --n-head 2 --n-layer 2 --max-iters 30
      --eval-interval 10 --eval-iters 2 --scheme fixedcount --threads 1"
$A train $args --out "$tmp/cpu" >/dev/null 2>&1 || bad "train on the CPU failed"
if $A train $args --device cuda --out "$tmp/gpu" >/dev/null 2>"$tmp/err"; then ok; else bad "train --device cuda: $(cat "$tmp/err")"; fi
# every logged loss within 1e-4 of the CPU's (relative)
if awk -F, 'NR == FNR { if (FNR > 1) { t[FNR] = $2; v[FNR] = $3 } next }
            FNR > 1 { n++; if ((t[FNR] - $2) ^ 2 > (1e-4 * t[FNR]) ^ 2 || (v[FNR] - $3) ^ 2 > (1e-4 * v[FNR]) ^ 2) bad++ }
            END { exit !(n == 4 && bad == 0) }' "$tmp/cpu/log.csv" "$tmp/gpu/log.csv"; then ok
else bad "the GPU run's losses differ from the CPU's: $(paste -d' ' "$tmp/cpu/log.csv" "$tmp/gpu/log.csv" | tr '\n' ' ')"; fi
if $A train --resume --out "$tmp/gpu" --max-iters 40 --device cuda >/dev/null 2>"$tmp/err" &&
   [ "$(tail -1 "$tmp/gpu/log.csv" | cut -d, -f1)" = 39 ]; then ok; else bad "resume on the device: $(cat "$tmp/err")"; fi
# the checkpoint the device run saved is a normal one: the CPU samples from it
if $A sample --ckpt "$tmp/gpu/model.safetensors" --max-new-tokens 10 >/dev/null 2>&1; then ok; else bad "sample from the GPU's checkpoint"; fi
expect_fail "sample --device cuda" 2 "only train and study run on the GPU" $A sample --ckpt "$tmp/gpu/model.safetensors" --device cuda
# a study on the device: the same losses as on the CPU (every evaluation of every run, within 1e-4 relative)
sargs=(--task markov --schemes standard,nonzero --p 0.5 --seeds 2 --max-iters 20 --eval-iters 2 --batch-size 4 --block-size 16
       --n-embd 16 --n-head 2 --n-layer 2 --timing-rounds 0)
$A study "${sargs[@]}" --jobs 1 --out "$tmp/scpu" >/dev/null 2>&1 || bad "study on the CPU failed"
if $A study "${sargs[@]}" --device cuda --out "$tmp/sgpu" >/dev/null 2>"$tmp/err"; then ok; else bad "study --device cuda: $(cat "$tmp/err")"; fi
if awk -F, 'NR == FNR { if (FNR > 1) v[FNR] = $7; next }
            FNR > 1 { n++; if ((v[FNR] - $7) ^ 2 > (1e-4 * v[FNR]) ^ 2) bad++ } END { exit !(n == 66 && bad == 0) }' \
        "$tmp/scpu/runs.csv" "$tmp/sgpu/runs.csv"; then ok
else bad "the study's losses on the device differ from the CPU's"; fi
expect_fail "a mechanism setting on the device" 1 "needs the CPU's activations" $A study --scale --device cuda --out "$tmp/sm"
tally "gpu cli"
