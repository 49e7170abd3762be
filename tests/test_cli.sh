#!/usr/bin/env bash
# test_cli.sh BUILD - the command-line tool: help, every kind of bad input
# (one line on stderr, non-zero exit, never a signal), a short training run
# and its outputs, sampling, eval, and greedy parity with PyTorch's fixture.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
A=${1:-build}/attndrop
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
small=(--batch-size 4 --block-size 16 --n-embd 32 --n-head 2 --n-layer 2 --eval-iters 2)

# help
for c in "" train sample eval text; do
    out=$($A $c --help 2>&1) && [[ "$out" == *usage:* ]] && ok || bad "help of '$c'"
done
$A >/dev/null 2>&1; [ $? -eq 1 ] && ok || bad "no command should exit 1"
out=$($A --version) && grep -q '^attndrop ' <<<"$out" && ok || bad "--version"

# flags
expect_fail "unknown command" 1 "unknown command 'fly'" $A fly
expect_fail "unknown flag" 1 "unknown option '--bogus'" $A train --bogus 1
expect_fail "missing value" 1 "--max-iters needs a value" $A train --max-iters
expect_fail "malformed float" 1 "'0.2x' is not a number" $A train --dropout 0.2x
expect_fail "dropout 1" 1 "out of range" $A train --dropout 1
expect_fail "dropout nan" 1 "not a number" $A train --dropout nan
expect_fail "negative size" 1 "must not be negative" $A train --n-embd -1
expect_fail "float for int" 1 "not a whole number" $A train --max-iters 1e99
expect_fail "huge int" 1 "not a whole number" $A train --max-iters 99999999999999999999999
expect_fail "zero size" 1 "out of range" $A train --batch-size 0
expect_fail "not divisible" 1 "divisible" $A train --n-embd 30 --n-head 4 --max-iters 1 --out "$tmp/x"
expect_fail "model too large" 2 "GiB" $A train --n-embd 16384 --n-head 1 --block-size 8192 --batch-size 64 --max-iters 1 --out "$tmp/x"
expect_fail "data and task" 1 "not both" $A train --data x --task markov
expect_fail "unknown task" 1 "unknown task" $A train --task nope
expect_fail "unknown text task" 1 "known: markov, copy, recall" $A text --task nope
out=$($A text --task copy --task-chars 18) && grep -qE "^[a-p]{8}\\|[a-p]{8}$" <<<"$out" && ok || bad "text --task copy"
expect_fail "flag without value" 1 "takes no value" $A text --entropy=1

# data files
expect_fail "missing file" 2 "cannot open '$tmp/none.txt': No such file" $A train --data "$tmp/none.txt"
: > "$tmp/empty.txt"
expect_fail "empty file" 2 "is empty" $A train --data "$tmp/empty.txt"
printf 'hello\xff\xfeworld' > "$tmp/bin.txt"
expect_fail "invalid UTF-8" 2 "byte offset 5" $A train --data "$tmp/bin.txt"
head -c 300 /dev/urandom > "$tmp/random.bin"; printf '\xff' >> "$tmp/random.bin"
expect_fail "binary file" 2 "invalid UTF-8" $A train --data "$tmp/random.bin"
printf 'short text' > "$tmp/short.txt"
expect_fail "data shorter than block" 2 "must be longer than --block-size" $A train --data "$tmp/short.txt" --block-size 8
expect_fail "directory as data" 2 "not a regular file (a directory)" $A train --data "$tmp"
head -c 5000 /dev/zero | tr '\0' 'a' > "$tmp/aaaa.txt"
$A train --data "$tmp/aaaa.txt" "${small[@]}" --max-iters 3 --out "$tmp/a1" >/dev/null 2>&1 && ok || bad "a single repeated character should train"

# a short run on the built-in task
$A train "${small[@]}" --max-iters 25 --eval-interval 10 --out "$tmp/run" > "$tmp/train.out" 2> "$tmp/train.err"
rc=$?
[ $rc -eq 0 ] && ok || bad "training run failed ($rc): $(cat "$tmp/train.err")"
[ -s "$tmp/run/model.safetensors" ] && [ -s "$tmp/run/train_state.safetensors" ] && ok || bad "checkpoint files missing"
head -n 1 "$tmp/run/log.csv" | grep -qx 'step,train_loss,val_loss,elapsed_s,tokens_per_s' && ok || bad "log.csv header"
steps=$(tail -n +2 "$tmp/run/log.csv" | cut -d, -f1 | tr '\n' ' ')
[ "$steps" = "0 10 20 24 " ] && ok || bad "log rows at steps '$steps', expected 0 10 20 24 (gpt.py's schedule)"
awk -F, 'NR > 2 { n++; if (!($5 > 0)) bad = 1 } END { exit bad || n == 0 }' "$tmp/run/log.csv" && ok || bad "tokens_per_s not positive"
grep -q 'step 24: train loss' "$tmp/train.out" && ok || bad "evaluation lines on stdout"
grep -q 'tok/s' "$tmp/train.err" && ok || bad "progress on stderr"

# the built-in text written out trains to the very same numbers
$A text > "$tmp/markov.txt" &&
    $A train --data "$tmp/markov.txt" "${small[@]}" --max-iters 25 --eval-interval 10 --out "$tmp/run2" >/dev/null 2>&1 &&
    [ "$(cut -d, -f1-3 "$tmp/run/log.csv")" = "$(cut -d, -f1-3 "$tmp/run2/log.csv")" ] && ok || bad "'text' differs from --task markov"
$A train "${small[@]}" --max-iters 25 --eval-interval 10 --threads 1 --out "$tmp/run3" >/dev/null 2>&1 &&
    [ "$(cut -d, -f1-3 "$tmp/run/log.csv")" = "$(cut -d, -f1-3 "$tmp/run3/log.csv")" ] && ok || bad "1 thread gives other losses than 2"

# sampling
ck="$tmp/run/model.safetensors"
out=$($A sample --ckpt "$ck" --prompt "the " --max-new-tokens 40 --seed 3) && [ ${#out} -eq 44 ] && [[ "$out" == "the "* ]] && ok || bad "sample length/prompt: '$out'"
o3=$($A sample --ckpt "$ck" --prompt "the " --max-new-tokens 40 --seed 3) && [ "$out" = "$o3" ] && ok || bad "sampling is not reproducible"
o4=$($A sample --ckpt "$ck" --prompt "the " --max-new-tokens 40 --seed 4) && [ ${#o4} -eq 44 ] && [ "$out" != "$o4" ] && ok || bad "the seed does not change the sample"
g1=$($A sample --ckpt "$ck" --temperature 0 --max-new-tokens 30 --seed 1) &&
    g2=$($A sample --ckpt "$ck" --temperature 0 --max-new-tokens 30 --seed 2) && [ "$g1" = "$g2" ] && [ ${#g1} -eq 31 ] && ok || bad "greedy depends on the seed"
expect_fail "prompt outside vocab" 2 "not in the vocabulary" $A sample --ckpt "$ck" --prompt "THE"
expect_fail "no ckpt" 1 "--ckpt is required" $A sample
expect_fail "bad temperature" 1 "out of range" $A sample --ckpt "$ck" --temperature -1
expect_fail "text as checkpoint" 2 "" $A sample --ckpt "$tmp/markov.txt"
expect_fail "missing checkpoint" 2 "cannot open" $A sample --ckpt "$tmp/nope.safetensors"
expect_fail "train state as checkpoint" 2 "not an attndrop file" $A sample --ckpt "$tmp/run/train_state.safetensors"

# eval
out=$($A eval --ckpt "$ck" --data "$tmp/markov.txt" --eval-iters 3 --batch-size 4) && [[ "$out" =~ ^train\ loss\ [0-9.]+,\ val\ loss\ [0-9.]+$ ]] && ok || bad "eval output '$out'"
printf 'hello WORLD %.0s' {1..100} > "$tmp/other.txt"
expect_fail "eval data outside vocab" 2 "not in the vocabulary" $A eval --ckpt "$ck" --data "$tmp/other.txt"

# schemes, stats, demo
out=$($A schemes) && [ "$(wc -l <<<"$out")" -eq 15 ] && grep -q '^nonzero ' <<<"$out" && ok || bad "schemes lists 15"
for c in stats demo schemes; do out=$($A $c --help) && grep -q usage: <<<"$out" && ok || bad "help of $c"; done
csv=$($A stats --scheme standard --p 0.5 --block-size 8 --n-head 4 --trials 2000 --format csv) || bad "stats --format csv failed"
[ "$(head -n 1 <<<"$csv")" = "pos,p_zero_exact,p_zero_mc,p_allheads_zero_exact,p_allheads_zero_mc,row_sum_mean_exact,row_sum_mean_mc,row_sum_var_exact,row_sum_var_mc,bias_mc" ] && ok || bad "stats csv header"
[ "$(tail -n +2 <<<"$csv" | wc -l)" -eq 8 ] && ok || bad "stats csv rows"
awk -F, 'NR > 1 { n++; e = 0.5 ^ ($1 + 1); if ($2 - e > 1e-12 || e - $2 > 1e-12) bad = 1 } END { exit bad || n == 0 }' <<<"$csv" && ok || bad "standard p_zero_exact is not p^(i+1)"
out=$($A stats --scheme nonzero --p 0.5 --trials 100 --format csv) &&
    awk -F, 'NR > 1 { n++; if ($2 != 0) bad = 1 } END { exit bad || n == 0 }' <<<"$out" && ok || bad "nonzero p_zero_exact"
out=$($A stats --p 0.25 --block-size 4 --trials 100 --format json) &&
    "${ATTNDROP_PYTHON:-/usr/bin/python3}" -c 'import json,sys; d=json.load(sys.stdin); assert len(d["positions"]) == 4 and d["positions"][0]["p_zero_exact"] == 0.25' \
    <<<"$out" && ok || bad "stats json"
out=$($A stats --scheme symmetric --attention bidirectional --trials 100) && grep -q 'some layer): n/a' <<<"$out" && ok || bad "n/a for bidirectional symmetric"
d=$($A demo --seed 1) && grep -q 'all zero' <<<"$d" && [[ "$d" == *"rows all zero"* ]] && ok || bad "demo marks zero rows"
out=$($A demo --scheme nonzero --format json) &&
    [ "$("${ATTNDROP_PYTHON:-/usr/bin/python3}" -c 'import json,sys; print(json.load(sys.stdin)["zero_rows"])' <<<"$out")" = "[]" ] && ok || bad "nonzero demo has zero rows"
expect_fail "unknown scheme" 1 "unknown scheme 'nope'" $A train --scheme nope
expect_fail "unknown device" 1 "unknown device 'gpu' (cpu or cuda)" $A train --device gpu
# a build without CUDA (this one) says so for the commands that run on the GPU; the others say they do not
# (rebuilding with CUDA would not help them)
for c in "train" "study --quick"; do
    expect_fail "$c --device cuda" 2 "built without CUDA" $A $c --device cuda
done
for c in "eval --ckpt x --data y" "sample --ckpt x"; do
    expect_fail "$c --device cuda" 2 "only train and study run on the GPU" $A $c --device cuda
done
expect_fail "unknown schedule" 1 "unknown dropout schedule" $A train --dropout-schedule fast
expect_fail "attn-dropout 1" 1 "out of range" $A train --attn-dropout 1
expect_fail "stats p 1" 1 "out of range" $A stats --p 1
expect_fail "stats unknown scheme" 1 "unknown scheme" $A stats --scheme bogus
expect_fail "bad attention" 1 "causal or bidirectional" $A demo --attention sideways
expect_fail "bad format" 1 "table, csv or json" $A stats --format xml
$A train "${small[@]}" --scheme fcm --attn-dropout 0.3 --dropout-schedule step-decay --max-iters 5 --out "$tmp/fcm" >/dev/null 2>&1 && ok || bad "train with fcm"
head -c 2000 "$tmp/fcm/model.safetensors" | grep -qF '\"attn_scheme\":\"fcm\"' && ok || bad "checkpoint records the scheme"
$A sample --ckpt "$tmp/fcm/model.safetensors" --max-new-tokens 5 >/dev/null && ok || bad "sample from an fcm checkpoint"

# special files: only regular files are read, never waited on; a text over the limit is refused with its size
mkfifo "$tmp/fifo"
expect_fail "FIFO as data" 2 "not a regular file (a pipe)" timeout 20 $A train "${small[@]}" --data "$tmp/fifo" --out "$tmp/ff"
expect_fail "FIFO as checkpoint" 2 "not a regular file (a pipe)" timeout 20 $A sample --ckpt "$tmp/fifo"
expect_fail "FIFO as eval data" 2 "not a regular file (a pipe)" timeout 20 $A eval --ckpt "$tmp/fcm/model.safetensors" --data "$tmp/fifo"
expect_fail "device as data" 2 "not a regular file (a device)" timeout 20 $A train "${small[@]}" --data /dev/zero --out "$tmp/ff"
expect_fail "device in a study" 2 "not a regular file (a device)" timeout 20 $A study --data /dev/zero --out "$tmp/fs"
truncate -s 1100M "$tmp/huge.txt"
expect_fail "text over the limit" 2 "has 1153433600 bytes, more than the limit of 1073741824" $A train "${small[@]}" --data "$tmp/huge.txt" --out "$tmp/ff"
rm -f "$tmp/huge.txt"

# --resume keeps the run's settings: a flag that would change them is refused, not ignored
$A train "${small[@]}" --max-iters 4 --out "$tmp/r" >/dev/null 2>&1 || bad "the run to resume failed"
for f in "--learning-rate 1" "--seed 5" "--n-embd 64" "--data x.txt" "--dropout 0.5" "--scheme nonzero" "--eval-iters 3"; do
    # shellcheck disable=SC2086
    expect_fail "resume with $f" 1 "cannot be changed on --resume" $A train --resume --out "$tmp/r" $f
done
$A train --resume --max-iters 6 --threads 1 --checkpoint-interval 2 --out "$tmp/r" >/dev/null 2>&1 && ok || bad "resume with its allowed flags"
# one strict integer reader: a state whose seed reads "1e03" is refused, not read as 1000 or 1
sed 's/"seed":"1337"/"seed":"1e03"/' "$tmp/r/train_state.safetensors" > "$tmp/r/s" && mv "$tmp/r/s" "$tmp/r/train_state.safetensors"
grep -qa '"seed":"1e03"' "$tmp/r/train_state.safetensors" && ok || bad "could not plant the seed"
expect_fail "seed 1e03" 2 "\"seed\" is missing or invalid" $A train --resume --max-iters 8 --out "$tmp/r"
for v in "+5" " 5" "5 " "0x10" "1e3" "5.0"; do
    expect_fail "--max-iters '$v'" 1 "is not a whole number" $A train --max-iters "$v"
done

# greedy parity: PyTorch's gpt.py model, loaded from this checkpoint, wrote greedy.txt
g=$($A sample --ckpt tests/fixtures/greedy.safetensors --temperature 0 --max-new-tokens 200) &&
    want=$(cat tests/fixtures/greedy.txt) && [ ${#want} -eq 201 ] && [ "$g" = "$want" ] && ok || bad "greedy sample differs from PyTorch's: '$g'"

# output that does not reach its destination (a full disk: /dev/full) fails every command with one line,
# never exit 0 over a cut file
if [ -w /dev/full ]; then
    for c in "text --task markov --task-chars 100000" "text --task copy --task-chars 100" schemes stats demo --version \
             "sample --ckpt tests/fixtures/greedy.safetensors --max-new-tokens 20" "eval --help"; do
        # shellcheck disable=SC2086
        err=$($A $c 2>&1 >/dev/full); rc=$?
        [ $rc -eq 2 ] && [ "$(grep -c '' <<<"$err")" -eq 1 ] && grep -q "cannot write" <<<"$err" && ok \
            || bad "'$c > /dev/full': exit $rc, '$err'"
    done
else
    echo "SKIP: writes to a full disk (no /dev/full)"
fi

tally cli
