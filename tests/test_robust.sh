#!/usr/bin/env bash
# test_robust.sh BUILD - the command line against what a cluster, a full disk
# or a hostile directory does to it: four shards of one study running at once
# on one --out (while a second unsharded study, the same shard twice and a
# train there are refused), --report-only on a missing, empty or partial
# study, run records with impossible values or cut short refused for the
# right reason, a FIFO among the records never waited on, plots that cannot
# be written whole leaving the old ones in place, thread counts past what the
# machine can run refused with one line, and a temperature so small that
# logits / T overflow sampling as greedy does.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
A=${1:-build}/attndrop
tmp=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT

# --- four concurrent shards on one directory
grid=(--task markov --schemes standard --seeds 4 --max-iters 300 --eval-interval 100 --eval-iters 1 --batch-size 4
      --block-size 8 --n-embd 16 --n-head 2 --n-layer 1 --timing-rounds 0 --jobs 1)
pids=()
for k in 1 2 3 4; do
    $A study "${grid[@]}" --shard $k/4 --out "$tmp/sh" > "$tmp/shard$k.out" 2>&1 &
    pids+=($!)
done
for i in $(seq 200); do [ -e "$tmp/sh/.lock-shard-4-of-4" ] && [ -e "$tmp/sh/.lock-shard-1-of-4" ] && break; sleep 0.05; done
running=0
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
echo "shards running at once: $running of 4"
for k in 1 2 3 4; do
    wait "${pids[$((k - 1))]}" && ok || bad "shard $k/4 beside the others: $(tail -n 2 "$tmp/shard$k.out")"
done
[ "$(ls "$tmp/sh/runs" | grep -c '\.csv$')" -eq 8 ] && ok || bad "4 shards: expected 8 records, got $(ls "$tmp/sh/runs")"
$A study "${grid[@]}" --report-only --out "$tmp/sh" > "$tmp/out" 2>&1 && ok || bad "report of 4 shards: $(tail -n 2 "$tmp/out")"
[ -f "$tmp/sh/report.md" ] && ! grep -q "not done yet" "$tmp/sh/report.md" && ok ||
    bad "the report of 4 finished shards is missing or says runs are missing"
# the same grid in one process: the same summary, byte for byte
$A study "${grid[@]}" --out "$tmp/serial" > "$tmp/out" 2>&1 && ok || bad "serial study: $(tail -n 2 "$tmp/out")"
cmp -s "$tmp/serial/summary.csv" "$tmp/sh/summary.csv" && cmp -s "$tmp/serial/effects.csv" "$tmp/sh/effects.csv" && ok ||
    bad "4 concurrent shards: summary.csv or effects.csv differs from the serial study's"
# while a shard runs (a long one, its lock seen held by flock): an unsharded study, the same shard again and a
# train on the directory are refused; another shard is not
long=(--task markov --schemes standard --seeds 2 --max-iters 20000 --eval-interval 10000 --eval-iters 1 --batch-size 4
      --block-size 8 --n-embd 16 --n-head 2 --n-layer 1 --timing-rounds 0 --jobs 1)
$A study "${long[@]}" --shard 1/4 --out "$tmp/lk" > "$tmp/lk.out" 2>&1 &
job=$!
held=0
for i in $(seq 400); do
    if [ -e "$tmp/lk/.lock-shard-1-of-4" ] && ! flock -n -s "$tmp/lk/.lock-shard-1-of-4" true; then held=1; break; fi
    sleep 0.05
done
if [ $held -eq 1 ]; then
    expect_fail "an unsharded study beside a running shard" 2 "is in use by another attndrop run" \
        $A study "${long[@]}" --out "$tmp/lk"
    expect_fail "shard 1/4 twice" 2 "another run of shard 1/4" $A study "${long[@]}" --shard 1/4 --out "$tmp/lk"
    expect_fail "--report-only beside a running shard" 2 "is in use" $A study "${long[@]}" --report-only --out "$tmp/lk"
    expect_fail "a train beside a running shard" 2 "is in use" $A train --task markov --batch-size 4 --block-size 8 \
        --n-embd 16 --n-head 2 --n-layer 1 --max-iters 2 --eval-iters 1 --out "$tmp/lk" --overwrite
    kill -0 $job 2>/dev/null && ok || bad "the long shard ended before the refusals were checked"
else
    bad "shard 1/4 never held its lock: $(tail -n 2 "$tmp/lk.out")"
fi
kill $job 2>/dev/null; wait $job 2>/dev/null

# two unsharded studies on one directory: the second is refused
$A study "${long[@]}" --out "$tmp/two" > "$tmp/two.out" 2>&1 &
job=$!
for i in $(seq 400); do [ -e "$tmp/two/.lock" ] && ! flock -n -s "$tmp/two/.lock" true && break; sleep 0.05; done
expect_fail "a second unsharded study" 2 "is in use by another attndrop run" $A study "${long[@]}" --out "$tmp/two"
expect_fail "a shard beside an unsharded study" 2 "is in use by another attndrop run" \
    $A study "${long[@]}" --shard 1/2 --out "$tmp/two"
kill -0 $job 2>/dev/null && ok || bad "the first study ended before the refusals were checked: $(tail -n 2 "$tmp/two.out")"
kill $job 2>/dev/null; wait $job 2>/dev/null

# --- --report-only on what is not a whole study
small=(--task markov --schemes standard --seeds 2 --max-iters 20 --eval-interval 10 --eval-iters 1 --batch-size 4
       --block-size 8 --n-embd 16 --n-head 2 --n-layer 1 --timing-rounds 0)
expect_fail "report of a missing directory" 2 "holds no study" $A study "${small[@]}" --report-only --out "$tmp/nowhere"
[ ! -e "$tmp/nowhere" ] && ok || bad "--report-only created the directory it was to read"
mkdir -p "$tmp/empty/runs"
expect_fail "report of an empty study" 2 "holds no record" $A study "${small[@]}" --report-only --out "$tmp/empty"
[ ! -e "$tmp/empty/summary.csv" ] && ok || bad "a report of no records wrote summary.csv"
$A study "${small[@]}" --out "$tmp/s" > "$tmp/out" 2>&1 && ok || bad "small study: $(tail -n 2 "$tmp/out")"
cp -r "$tmp/s" "$tmp/part"
rm "$tmp/part/runs/markov-none-0-2.csv" "$tmp/part/runs/markov-standard-0.2-2.csv" "$tmp/part/report.md"
$A study "${small[@]}" --report-only --out "$tmp/part" > "$tmp/out" 2>&1 && ok || bad "partial report: $(tail -n 2 "$tmp/out")"
grep -q '| 1 of 2 |' "$tmp/part/report.md" && ok || bad "a partial report must give the seeds it has (1 of 2): $(grep '^| `markov`' "$tmp/part/report.md")"
awk -F, 'NR > 1 && $4 != 1 { bad = 1 } END { exit bad }' "$tmp/part/summary.csv" && ok ||
    bad "summary.csv of a partial study must count the seeds present: $(cat "$tmp/part/summary.csv")"

# --- run records with impossible values, or cut short: refused for what they are
rec=runs/markov-standard-0.2-1.csv
hostile() { # NAME SED-SCRIPT: the record edited, then --report-only must refuse it by name
    rm -rf "$tmp/h"; cp -r "$tmp/s" "$tmp/h"
    sed -i "$2" "$tmp/h/$rec"
    cmp -s "$tmp/s/$rec" "$tmp/h/$rec" && { bad "$1: the edit changed nothing"; return; }
    expect_fail "record with $1" 2 "markov-standard-0.2-1.csv is incomplete or damaged" \
        $A study "${small[@]}" --report-only --out "$tmp/h"
}
hostile "a NaN val loss" 's/^L,10,\([^,]*\),[^,]*,/L,10,\1,nan,/'
hostile "an infinite val loss" 's/^L,10,\([^,]*\),[^,]*,/L,10,\1,inf,/'
hostile "a negative val loss" 's/^L,10,\([^,]*\),[^,]*,/L,10,\1,-5,/'
hostile "a val loss of 1e308" 's/^L,19,\([^,]*\),[^,]*,/L,19,\1,1e308,/'
hostile "a NaN train loss" 's/^L,0,[^,]*,/L,0,nan,/'
hostile "an evaluation step twice" 's/^L,10,/L,0,/'
hostile "evaluation steps out of order" 's/^L,0,/L,10,/'
hostile "more zero rows than rows" 's/^Z,0,[0-9]*,/Z,0,999,/'
hostile "a negative zero-row count" 's/^Z,1,[0-9]*,/Z,1,-1,/'
hostile "a row count the run cannot have met" 's/^Z,2,\([0-9]*\),160$/Z,2,\1,161/'
hostile "a NaN position loss" 's/^P,3,.*/P,3,nan/'
hostile "a negative position loss" 's/^P,3,.*/P,3,-0.5/'
hostile "two timing lines" 's/^T,\(.*\)/T,\1\nT,\1/'
rm -rf "$tmp/h"; cp -r "$tmp/s" "$tmp/h"; head -c 50 "$tmp/s/$rec" > "$tmp/h/$rec"
expect_fail "a record cut to 50 bytes" 2 "is incomplete or damaged" $A study "${small[@]}" --report-only --out "$tmp/h"
expect_fail "a record cut to 50 bytes (rerun)" 2 "is incomplete or damaged" $A study "${small[@]}" --out "$tmp/h"
# a FIFO in runs/: refused at once, never opened for a blocking read
rm -rf "$tmp/h"; cp -r "$tmp/s" "$tmp/h"; rm "$tmp/h/$rec"; mkfifo "$tmp/h/$rec"
expect_fail "a FIFO as a record (report)" 2 "is not a regular file" timeout 20 $A study "${small[@]}" --report-only --out "$tmp/h"
expect_fail "a FIFO as a record (rerun)" 2 "is not a regular file" timeout 20 $A study "${small[@]}" --out "$tmp/h"

# a FIFO as timing.csv (read back by a rerun) and as a new run's log.csv: neither is waited on
rm -rf "$tmp/h"; cp -r "$tmp/s" "$tmp/h"; mkfifo "$tmp/h/timing.csv"
timeout 20 $A study "${small[@]}" --timing-rounds 1 --out "$tmp/h" > "$tmp/out" 2>&1 && [ -f "$tmp/h/timing.csv" ] && ok ||
    bad "a FIFO as timing.csv: exit $?, $(tail -n 2 "$tmp/out")"
mkdir -p "$tmp/fl"; mkfifo "$tmp/fl/log.csv"
expect_fail "a FIFO as log.csv" 2 "is not a regular file" timeout 20 $A train --task markov --batch-size 4 --block-size 8 \
    --n-embd 16 --n-head 2 --n-layer 1 --max-iters 3 --eval-iters 1 --out "$tmp/fl" --overwrite

# --- plots that cannot be written whole (a file-size limit, as a nearly full disk) leave the old ones in place
md5sum "$tmp/s"/plots/*.png > "$tmp/png.md5"
[ "$(wc -l < "$tmp/png.md5")" -eq 4 ] && ok || bad "the small study drew $(wc -l < "$tmp/png.md5") plots, expected 4"
err=$(ulimit -f 24; $A study "${small[@]}" --report-only --out "$tmp/s" 2>&1 >/dev/null); rc=$?
[ $rc -eq 0 ] && [[ "$err" == *"plots not drawn"*"not drawn whole"*"unchanged"* ]] && ok ||
    bad "plots under a 24 KiB file-size limit: exit $rc, '$err'"
md5sum -c --quiet "$tmp/png.md5" && ok || bad "plots that could not be drawn whole replaced the good ones"
[ -d "$tmp/s/plots" ] && [ -z "$(find "$tmp/s/plots" -maxdepth 1 -name '.draw*')" ] && ok ||
    bad "the plots' folder is missing or its temporary folder was left behind"
grep -q "could not be drawn" "$tmp/s/report.md" && ok || bad "the report must say the plots were not drawn"
$A study "${small[@]}" --report-only --out "$tmp/s" > /dev/null 2>&1 && ! grep -q "could not be drawn" "$tmp/s/report.md" &&
    ok || bad "plots not redrawn once the limit is gone"

# --- thread counts past the machine, and a temperature that overflows logits / T
tiny=(--task markov --batch-size 4 --block-size 8 --n-embd 16 --n-head 2 --n-layer 1 --max-iters 2 --eval-iters 1)
# an OpenMP build runs what OMP_NUM_THREADS asks for (and says so); one without runs one thread whatever it says
omp=$(OMP_NUM_THREADS=3 $A train "${tiny[@]}" --out "$tmp/t2" 2>/dev/null | grep -oE ', [0-9]+ threads' | head -n 1)
echo "OMP_NUM_THREADS=3 gives:$omp"
if [ "$omp" = ", 3 threads" ]; then
    expect_fail "OMP_NUM_THREADS=100000" 1 "OMP_NUM_THREADS asks for 100000 threads" \
        env OMP_NUM_THREADS=100000 $A train "${tiny[@]}" --out "$tmp/t0"
    expect_fail "OMP_NUM_THREADS=4097" 1 "OMP_NUM_THREADS asks for 4097 threads" env OMP_NUM_THREADS=4097 $A eval --help
    # the commands that start no thread do not care what it asks
    for c in "stats --trials 100" schemes "text --task-chars 100" demo; do
        # shellcheck disable=SC2086
        env OMP_NUM_THREADS=4097 $A $c > /dev/null 2>&1 && ok || bad "OMP_NUM_THREADS=4097 $c refused"
    done
else  # a build without OpenMP runs one thread whatever the variable says
    env OMP_NUM_THREADS=100000 $A train "${tiny[@]}" --out "$tmp/t0" > /dev/null 2>&1 && ok ||
        bad "OMP_NUM_THREADS=100000 in a build without OpenMP must change nothing"
fi
expect_fail "--threads 4097" 1 "--threads" $A train "${tiny[@]}" --threads 4097 --out "$tmp/t1"
# a rate is a decimal number as written: not with a leading space, in hexadecimal, or inf
for v in " 0.2" "0x1p-3" "inf" "nan" "1e"; do
    expect_fail "--dropout '$v'" 1 "is not a number" $A train "${tiny[@]}" --dropout "$v" --out "$tmp/t1"
done
$A train --task markov --batch-size 4 --block-size 8 --n-embd 16 --n-head 2 --n-layer 1 --max-iters 30 --eval-interval 10 \
    --eval-iters 1 --out "$tmp/t" > /dev/null 2>&1 && ok || bad "training for the sampling checks"
greedy=$($A sample --ckpt "$tmp/t/model.safetensors" --temperature 0 --max-new-tokens 40)
for t in 1e-45 1e-38; do
    got=$($A sample --ckpt "$tmp/t/model.safetensors" --temperature $t --max-new-tokens 40); rc=$?
    [ $rc -eq 0 ] && [ ${#got} -eq 41 ] && [ "$got" = "$greedy" ] && ok ||
        bad "sample --temperature $t: exit $rc, '$got' (greedy: '$greedy')"
done
tally robust
