#!/usr/bin/env bash
# test_mpi.sh BUILD MPI_BUILD - the MPI build (make MPI=1) under a real mpirun
# on this machine: a 2- and a 3-rank study equal to the serial one
# (summary.csv, effects.csv and the other derived CSVs byte for byte), shards
# 1/2 + 2/2 merged by --report-only equal to it too, a partial report that
# says what is missing, 2- and 3-rank training with the single-process losses,
# the same weights bitwise when the same ranks run twice, SIGINT to mpirun
# saving once and a resume giving the uninterrupted run's weights, a rank
# killed mid-study keeping the finished runs, and bad input refused with one
# line. Prints a SKIP line where Open MPI or the MPI build is missing.
set -u -o pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
S=${1:-build}/attndrop
A=${2:-build-mpi}/attndrop
if ! command -v mpirun >/dev/null 2>&1 || [ ! -x "$A" ]; then
    echo "SKIP: MPI tests (need Open MPI's mpirun and the MPI build: apt-get install openmpi-bin libopenmpi-dev; make MPI=1)"
    exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export OMP_WAIT_POLICY=passive OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl=self,vader \
    OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_plm=isolated  # one node: no ssh, no cross-process copies (containers forbid them)
run=(mpirun --oversubscribe)
[ "$(id -u)" = 0 ] && run+=(--allow-run-as-root)

# the study: serial, 2 and 3 ranks, shards
grid=(--task markov,copy --schemes standard,nonzero --seeds 2 --max-iters 40 --batch-size 8 --block-size 16 --n-embd 32
      --n-head 2 --n-layer 1 --timing-rounds 0)
derived=(summary.csv effects.csv benefit.csv position_effects.csv settings.csv zero_rows.csv positions.csv)
$S study "${grid[@]}" --out "$tmp/serial" > "$tmp/out" 2>&1 && ok || bad "serial study: $(tail -n 2 "$tmp/out")"
same_as_serial() {
    for f in "${derived[@]}"; do cmp -s "$tmp/serial/$f" "$tmp/$1/$f" && ok || bad "$2: $f differs from the serial study's"; done
}
for n in 2 3; do
    "${run[@]}" -n $n $A study "${grid[@]}" --out "$tmp/m$n" > "$tmp/out" 2>&1 && ok || bad "$n-rank study: $(tail -n 3 "$tmp/out")"
    same_as_serial m$n "$n-rank study"
    grep -q "done by rank" "$tmp/out" && ok || bad "$n-rank study: no progress from rank 0"
done
# a --data text: rank 0 reads it and sends it to the others
$S text --task markov --task-chars 30000 > "$tmp/text.txt" || bad "text for --data"
tgrid=(--task markov --schemes standard --seeds 2 --max-iters 20 --batch-size 8 --block-size 16 --n-embd 32 --n-head 2
       --n-layer 1 --timing-rounds 0 --data "$tmp/text.txt")
$S study "${tgrid[@]}" --out "$tmp/ts" > "$tmp/out" 2>&1 && ok || bad "serial study with --data: $(tail -n 2 "$tmp/out")"
"${run[@]}" -n 3 $A study "${tgrid[@]}" --out "$tmp/tm" > "$tmp/out" 2>&1 && ok || bad "3-rank study with --data: $(tail -n 2 "$tmp/out")"
cmp -s "$tmp/ts/summary.csv" "$tmp/tm/summary.csv" && cmp -s "$tmp/ts/effects.csv" "$tmp/tm/effects.csv" && ok ||
    bad "3-rank study with --data: summary.csv or effects.csv differs from the serial study's"
mkfifo "$tmp/fifo"
err=$("${run[@]}" -n 2 $A study "${tgrid[@]}" --data "$tmp/fifo" --out "$tmp/tf" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(grep -c "is not a regular file (a pipe)" <<<"$err")" -eq 1 ] && ok || bad "a FIFO as --data under mpirun: exit $rc, $err"

$A study "${grid[@]}" --shard 1/2 --out "$tmp/sh" > "$tmp/out" 2>&1 && ok || bad "shard 1/2: $(tail -n 2 "$tmp/out")"
[ "$(ls "$tmp/sh/runs" | wc -l)" -eq 6 ] && [ ! -e "$tmp/sh/report.md" ] && ok || bad "shard 1/2: expected 6 of 12 runs and no report"
$A study "${grid[@]}" --report-only --out "$tmp/sh" > "$tmp/out" 2>&1 && ok || bad "report of half a grid: $(tail -n 2 "$tmp/out")"
grep -q "6 of the 12 runs are not done yet" "$tmp/sh/report.md" && ok || bad "a partial report must say what is missing"
grep -q "not done yet: .*runs/" "$tmp/out" && ok || bad "--report-only must list the missing runs"
$A study "${grid[@]}" --shard 2/2 --out "$tmp/sh" > "$tmp/out" 2>&1 && ok || bad "shard 2/2: $(tail -n 2 "$tmp/out")"
$A study "${grid[@]}" --report-only --out "$tmp/sh" > "$tmp/out" 2>&1 && ok || bad "merged report: $(tail -n 2 "$tmp/out")"
same_as_serial sh "shards 1/2 + 2/2"
[ -s "$tmp/sh/report.md" ] && ! grep -q "not done yet" "$tmp/sh/report.md" && ok ||
    bad "the merged report is missing or still says runs are missing"

# a rank killed mid-study: the job ends, the finished runs stay, a rerun completes them
long=(--task markov --schemes standard --seeds 4 --max-iters 400 --batch-size 8 --block-size 16 --n-embd 32 --n-head 2
      --n-layer 1 --timing-rounds 0)
"${run[@]}" -n 3 $A study "${long[@]}" --out "$tmp/k" > "$tmp/kout" 2>&1 &
job=$!
finished() { ls "$tmp/k/runs" 2>/dev/null | grep -vc '\.tmp$'; }
for i in $(seq 100); do [ "$(finished)" -ge 2 ] && break; sleep 0.1; done
before=$(finished)
victim=$(pgrep -P $job -f "attndrop study" | tail -n 1)
[ -n "$victim" ] && kill -KILL "$victim" || bad "a killed rank: no rank of mpirun (pid $job) found to kill"
wait $job; rc=$?
[ $rc -ne 0 ] && ok || bad "a killed rank must end the study with an error (exit $rc)"
kept=$(finished)
[ "$kept" -ge 1 ] && [ "$kept" -ge "$before" ] || bad "a killed rank: $kept finished runs kept, $before were done before the kill"
"${run[@]}" -n 3 $A study "${long[@]}" --out "$tmp/k" > "$tmp/out" 2>&1 && ok || bad "rerun after a killed rank: $(tail -n 2 "$tmp/out")"
grep -q "$kept of 8 runs were already done" "$tmp/out" && ok || bad "the rerun must keep the $kept finished runs: $(grep already "$tmp/out")"

# data-parallel training: the single-process losses with 2 and 3 ranks (an uneven split), bitwise repeats
tr=(--task markov --task-chars 20000 --batch-size 8 --block-size 16 --n-embd 32 --n-head 2 --n-layer 2 --max-iters 50
    --eval-interval 10 --eval-iters 2 --threads 1 --scheme nonzero)
$S train "${tr[@]}" --out "$tmp/t1" > /dev/null 2>&1 && ok || bad "single-process training failed"
for n in 2 3; do
    "${run[@]}" -n $n $A train "${tr[@]}" --out "$tmp/t$n" > "$tmp/out" 2>&1 && ok || bad "$n-rank training: $(tail -n 2 "$tmp/out")"
    paste -d, "$tmp/t1/log.csv" "$tmp/t$n/log.csv" | awk -F, -v n=$n 'NR > 1 {
        for (k = 2; k <= 3; k++) { d = $k - $(k + 5); if (d < 0) d = -d; if (d > 1e-5 * $k) { print "FAIL: " n " ranks, step " $1 ": " $k " vs " $(k + 5); bad = 1 } } }
        NR > 1 { rows++ } END { exit bad || rows == 0 }' >&2 && ok || bad "$n-rank losses differ from the single process's (or no log to compare)"
    [ "$(wc -l < "$tmp/t$n/log.csv")" -eq 7 ] && ok || bad "$n-rank log: $(wc -l < "$tmp/t$n/log.csv") lines, expected 7"
done
"${run[@]}" -n 2 $A train "${tr[@]}" --out "$tmp/t2b" > /dev/null 2>&1 && cmp -s "$tmp/t2/model.safetensors" "$tmp/t2b/model.safetensors" && ok || bad "2 ranks twice: the weights differ"
# progress comes from rank 0 alone (the last step's line is always printed)
"${run[@]}" -n 3 $A train "${tr[@]}" --out "$tmp/t3p" > /dev/null 2> "$tmp/err"
[ "$(grep -cE '^step 50/50  loss' "$tmp/err")" -eq 1 ] && ok ||
    bad "3-rank training: progress from more than rank 0: $(grep -E '^step ' "$tmp/err")"

# SIGINT to mpirun: one save, exit as a stopped run; the resume gives the uninterrupted weights. The run must
# outlast the wait below by far: 4000 steps once took 2 s and ended before the signal on a faster build
st=(--task markov --task-chars 20000 --batch-size 8 --block-size 16 --n-embd 32 --n-head 2 --n-layer 2 --max-iters 15000
    --eval-interval 1000 --eval-iters 2 --threads 1)
"${run[@]}" -n 2 $A train "${st[@]}" --out "$tmp/full" > /dev/null 2>&1 || bad "the uninterrupted 2-rank run failed"
"${run[@]}" -n 2 $A train "${st[@]}" --out "$tmp/int" > /dev/null 2> "$tmp/err" &
job=$!
for i in $(seq 100); do [ -s "$tmp/int/log.csv" ] && break; sleep 0.05; done
sleep 0.3
kill -INT $job; wait $job; rc=$?
[ $rc -ne 0 ] && grep -q "stopped by SIG.*after step" "$tmp/err" && ok || bad "SIGINT under mpirun: exit $rc, $(tail -n 2 "$tmp/err")"
[ "$(grep -c "stopped by" "$tmp/err")" -eq 1 ] && ok || bad "SIGINT under mpirun: rank 0 alone must report the stop"
"${run[@]}" -n 2 $A train --resume --out "$tmp/int" > "$tmp/out" 2>&1 && ok || bad "resume under mpirun: $(tail -n 2 "$tmp/out")"
cmp -s "$tmp/full/model.safetensors" "$tmp/int/model.safetensors" && ok || bad "an interrupted and resumed 2-rank run differs from the uninterrupted one"

# bad input: one clear line, a non-zero exit
err=$("${run[@]}" -n 2 $A train "${tr[@]}" --batch-size 1 --out "$tmp/b1" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [[ "$err" == *"--batch-size 1 is smaller than the 2 ranks"* ]] && ok || bad "batch smaller than ranks: exit $rc, $err"
err=$("${run[@]}" -n 2 $A train --data "$tmp/none.txt" --out "$tmp/b2" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(grep -c "cannot open '$tmp/none.txt'" <<<"$err")" -eq 1 ] && ok || bad "missing data under mpirun: exit $rc, $err"
err=$("${run[@]}" -n 2 $A study "${grid[@]}" --shard 1/2 --out "$tmp/b3" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(grep -c "for runs without mpirun" <<<"$err")" -eq 1 ] && ok || bad "--shard under mpirun: exit $rc, $err"
# a rank started with other options than rank 0 (an MPMD launch, a wrapper script) trains nothing: one line
err=$("${run[@]}" -n 1 $A study "${grid[@]}" --out "$tmp/b6" : -n 1 $A study "${grid[@]}" --max-iters 41 --out "$tmp/b6" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && grep -q "the ranks were started with different study options" <<<"$err" && [ -z "$(ls "$tmp/b6/runs" 2>/dev/null)" ] \
    && ok || bad "ranks with different grids: exit $rc, $(head -n 2 <<<"$err")"
expect_fail "bad shard" 1 "is not K/N" $A study "${grid[@]}" --shard 3/2 --out "$tmp/b4"
expect_fail "shard and report-only" 1 "not both" $A study "${grid[@]}" --shard 1/2 --report-only --out "$tmp/b5"
tally mpi
