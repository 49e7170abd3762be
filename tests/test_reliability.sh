#!/usr/bin/env bash
# test_reliability.sh BUILD - no interruption loses work: SIGINT and SIGTERM
# save and resume bitwise exactly, SIGKILL at random moments (during saves
# too) always leaves a state that loads and resumes to the same weights, a
# full disk leaves the previous checkpoint intact, a diverging run stops with
# the step named and its last saved state good.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
A=${1:-build}/attndrop
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cfg=(--batch-size 8 --block-size 16 --n-embd 32 --n-head 2 --n-layer 2 --eval-iters 2 --eval-interval 10
     --dropout 0.3 --scheme nonzero --max-iters 1000)

# waits until DIR/log.csv has an evaluation row at or after step N (at most 20 s)
wait_for_step() {
    for _ in $(seq 1 2000); do
        [ -e "$1/log.csv" ] && [ "$(tail -n 1 "$1/log.csv" | cut -d, -f1)" -ge "$2" ] 2>/dev/null && return 0
        sleep 0.01
    done
    return 1
}

# the uninterrupted reference
$A train "${cfg[@]}" --out "$tmp/ref" >/dev/null 2>&1 && ok || bad "reference run"

# SIGINT and SIGTERM: finish the step, save, exit 130 / 143, resume to the same bits
for sig in INT TERM; do
    want=$([ $sig = INT ] && echo 130 || echo 143)
    d="$tmp/sig$sig"
    rm -rf "$d"
    $A train "${cfg[@]}" --out "$d" >/dev/null 2>"$tmp/err" &
    pid=$!
    wait_for_step "$d" 20
    kill -$sig $pid 2>/dev/null
    wait $pid
    got=$?
    if [ "$got" = "$want" ]; then
        grep -q "stopped by SIG$sig after step" "$tmp/err" && grep -q -- "--resume --out $d" "$tmp/err" && ok ||
            bad "SIG$sig: the message does not say where it saved: $(cat "$tmp/err")"
        $A train --resume --out "$d" >/dev/null 2>&1 && ok || bad "SIG$sig: resume failed"
        cmp -s "$d/model.safetensors" "$tmp/ref/model.safetensors" && cmp -s "$d/train_state.safetensors" "$tmp/ref/train_state.safetensors" &&
            ok || bad "SIG$sig: the resumed run's weights differ from the uninterrupted run's"
        [ "$(cut -d, -f1-3 "$d/log.csv")" = "$(cut -d, -f1-3 "$tmp/ref/log.csv")" ] && ok || bad "SIG$sig: log.csv differs"
    else
        bad "SIG$sig: exit $got, expected $want (the run may have finished before the signal)"
    fi
done

# SIGKILL at random moments, saving every step: what is on disk always loads, and resumes to the same bits
kills=0
for i in $(seq 1 8); do
    d="$tmp/kill$i"
    $A train "${cfg[@]}" --checkpoint-interval 1 --out "$d" >/dev/null 2>&1 &
    pid=$!
    wait_for_step "$d" 10 || bad "kill $i: the run did not reach step 10"
    sleep "0.$((RANDOM % 5))$((RANDOM % 10))"
    kill -KILL $pid 2>/dev/null && kills=$((kills + 1))
    wait $pid 2>/dev/null
    if [ -e "$d/train_state.safetensors" ]; then
        $A sample --ckpt "$d/model.safetensors" --max-new-tokens 3 >/dev/null 2>&1 && ok || bad "kill $i: the checkpoint does not load"
        $A train --resume --out "$d" >/dev/null 2>&1 && ok || bad "kill $i: resume failed"
        cmp -s "$d/model.safetensors" "$tmp/ref/model.safetensors" && ok || bad "kill $i: resumed weights differ"
    else
        bad "kill $i: no state saved by step 10, saving every step"
    fi
done
echo "SIGKILL: $kills runs killed"
[ $kills -ge 4 ] && ok || bad "only $kills of 8 runs were still running when killed"

# SIGKILL after evaluations that followed the last save: the resumed run logs those steps once, as the reference
d="$tmp/killlog"
$A train "${cfg[@]}" --checkpoint-interval 25 --out "$d" >/dev/null 2>&1 &
pid=$!
wait_for_step "$d" 30
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
if [ -e "$d/train_state.safetensors" ]; then
    $A train --resume --out "$d" >/dev/null 2>&1 && ok || bad "kill after an evaluation: resume failed"
    [ "$(cut -d, -f1-3 "$d/log.csv")" = "$(cut -d, -f1-3 "$tmp/ref/log.csv")" ] && ok ||
        bad "kill after an evaluation: the log differs from the reference: $(cut -d, -f1 "$d/log.csv" | tr '\n' ' ')"
else
    bad "kill after an evaluation: no state saved by step 30"
fi

# a full disk (a file-size limit): a clear error, the previous checkpoint intact, no temporary file left
d="$tmp/full"
$A train "${cfg[@]}" --max-iters 20 --out "$d" >/dev/null 2>&1 || bad "full disk: the run before it failed"
before=$(md5sum "$d"/*.safetensors) || bad "full disk: no checkpoint before it"
(ulimit -f 64; $A train --resume --max-iters 30 --out "$d" >/dev/null 2>"$tmp/err"); rc=$?
last=$(tail -n 1 "$tmp/err")  # progress lines come before it on a non-terminal
[ $rc -eq 2 ] && [[ "$last" == *"cannot write"*"File too large"*"intact"* ]] && ok || bad "full disk: exit $rc, '$last'"
[ -n "$before" ] && [ "$(md5sum "$d"/*.safetensors)" = "$before" ] && ok || bad "full disk: the previous checkpoint changed"
[ -d "$d" ] && [ -z "$(ls "$d" | grep '\.tmp')" ] && ok || bad "full disk: temporary files left: $(ls "$d")"
$A train --resume --max-iters 30 --out "$d" >/dev/null 2>&1 && ok || bad "resume after the disk has room again"

# divergence: an absurd learning rate stops with the step named; the last saved state is good
d="$tmp/nan"
$A train "${cfg[@]}" --learning-rate 1000 --checkpoint-interval 2 --out "$d" >/dev/null 2>"$tmp/err"; rc=$?
last=$(tail -n 1 "$tmp/err")
[ $rc -eq 3 ] && [[ "$last" == *"diverged at step "[0-9]* ]] && ok || bad "divergence: exit $rc, '$last'"
if [ -e "$d/train_state.safetensors" ]; then
    $A sample --ckpt "$d/model.safetensors" --max-new-tokens 3 >/dev/null 2>&1 && ok || bad "divergence: the last checkpoint does not sample"
else
    bad "divergence: no state saved before it"
fi
# a divergence first seen in an evaluation (evaluated at every step, so the bad weights meet the evaluation
# before the next step's loss) says the same, not just "the loss is nan"
$A train --task markov --max-iters 20 --batch-size 2 --block-size 8 --n-embd 8 --n-head 1 --n-layer 1 --eval-iters 1 \
    --eval-interval 1 --learning-rate 1000 --out "$tmp/nan-eval" >/dev/null 2>"$tmp/err"; rc=$?
last=$(tail -n 1 "$tmp/err")
[ $rc -eq 3 ] && [[ "$last" == *"diverged at step "[0-9]*"the last saved state is kept"* ]] && ok || bad "divergence in an evaluation: exit $rc, '$last'"

# a run is never overwritten by accident; resuming needs a run; a finished run says so
expect_fail "existing run" 1 "already holds a run" $A train "${cfg[@]}" --out "$tmp/ref"
expect_fail "resume without a run" 2 "--resume needs" $A train --resume --out "$tmp/none"
out=$($A train --resume --out "$tmp/ref") && [[ "$out" == *"already finished"* ]] && ok || bad "resume of a finished run: $out"
expect_fail "max-iters below done" 1 "below the 1000 steps" $A train --resume --max-iters 10 --out "$tmp/ref"
# an extended run keeps its new length through a later interruption, and logs each evaluation once
# (the extension long enough to be interrupted before it ends, whatever the machine's speed)
d="$tmp/ext"
$A train "${cfg[@]}" --max-iters 30 --checkpoint-interval 10 --out "$d" >/dev/null 2>&1 && [ -s "$d/train_state.safetensors" ] ||
    bad "the run to extend failed"
$A train --resume --max-iters 400 --out "$d" >/dev/null 2>&1 &
pid=$!
wait_for_step "$d" 40
kill -INT $pid 2>/dev/null
wait $pid
rc=$?
[ $rc -eq 130 ] || bad "the extension was not interrupted: exit $rc, expected 130"
$A train --resume --out "$d" >/dev/null 2>&1 && [ "$(tail -n 1 "$d/log.csv" | cut -d, -f1)" = 399 ] && ok ||
    bad "the extension to 400 steps was lost: $(tail -n 1 "$d/log.csv")"
[ -z "$(cut -d, -f1 "$d/log.csv" | sort | uniq -d)" ] && ok || bad "log.csv repeats rows: $(cut -d, -f1 "$d/log.csv" | tr '\n' ' ')"

# the data of a run changed before its resume
printf 'abcdefghij klmnop, qrstuv.\n%.0s' {1..60} > "$tmp/data.txt"
$A train --data "$tmp/data.txt" --batch-size 4 --block-size 8 --n-embd 16 --n-head 2 --n-layer 1 --max-iters 4 \
    --eval-iters 1 --out "$tmp/data" >/dev/null 2>&1
printf 'XYZ\n' >> "$tmp/data.txt"
expect_fail "data changed" 2 "has changed since the run started" $A train --resume --max-iters 8 --out "$tmp/data"

# the same characters in another order: the content hash tells them apart
printf 'ponmlk jihgfedcba, vutsrq.\n%.0s' {1..60} > "$tmp/data2.txt"
$A train --data "$tmp/data2.txt" --batch-size 4 --block-size 8 --n-embd 16 --n-head 2 --n-layer 1 --max-iters 4 \
    --eval-iters 1 --out "$tmp/data2" >/dev/null 2>&1
printf 'abcdefghij klmnop, qrstuv.\n%.0s' {1..60} > "$tmp/data2.txt"
expect_fail "data reordered" 2 "content hash" $A train --resume --max-iters 8 --out "$tmp/data2"
# a relative --data resumed from another directory reads the run's own file (its absolute path is kept)
mkdir -p "$tmp/here" "$tmp/elsewhere"
cp "$tmp/data.txt" "$tmp/here/d.txt"; printf 'zzzz yyyy\n%.0s' {1..80} > "$tmp/elsewhere/d.txt"
Aabs=$(realpath "$A")
(cd "$tmp/here" && $Aabs train --data d.txt --batch-size 4 --block-size 8 --n-embd 16 --n-head 2 --n-layer 1 --max-iters 4 \
    --eval-iters 1 --out "$tmp/rel" >/dev/null 2>&1)
(cd "$tmp/elsewhere" && $Aabs train --resume --max-iters 8 --out "$tmp/rel" >/dev/null 2>&1) && ok \
    || bad "a relative --data resumed from another directory"

# one run per directory: a second train, a resume or a study on a directory in use is refused
d="$tmp/busy"
$A train "${cfg[@]}" --max-iters 100000 --out "$d" >/dev/null 2>&1 &
pid=$!
wait_for_step "$d" 0
expect_fail "second run, same directory" 2 "in use by another attndrop run (pid $pid)" $A train "${cfg[@]}" --overwrite --out "$d"
expect_fail "resume of a running run" 2 "in use by another attndrop run" $A train --resume --out "$d"
kill -TERM $pid 2>/dev/null; wait $pid
$A train "${cfg[@]}" --max-iters 2 --overwrite --out "$d" >/dev/null 2>&1 && ok || bad "the directory stays locked after its run ended"
mkdir -p "$tmp/st"
study=(--schemes standard --seeds 2 --max-iters 3000 --eval-iters 1 --batch-size 2 --block-size 8 --n-embd 8 --n-head 1
       --n-layer 1 --timing-rounds 0 --jobs 1)
$A study "${study[@]}" --out "$tmp/st/s" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 1000); do [ -s "$tmp/st/s/.lock" ] && break; sleep 0.01; done
expect_fail "two studies, one directory" 2 "in use by another attndrop run" $A study "${study[@]}" --out "$tmp/st/s"
wait $pid || bad "the study holding the directory failed (exit $?)"

# log.csv on resume: deleted, cut mid-line or holding garbage, it is rebuilt whole (header, rows up to the saved step)
for damage in delete cut garbage; do
    d="$tmp/log_$damage"
    # a run long enough to be killed before it ends, whatever the machine's speed
    $A train "${cfg[@]}" --max-iters 400 --checkpoint-interval 10 --out "$d" >/dev/null 2>&1 &
    pid=$!
    wait_for_step "$d" 20
    kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null
    case $damage in
        delete) rm -f "$d/log.csv" ;;
        cut) head -c -7 "$d/log.csv" > "$d/l" && mv "$d/l" "$d/log.csv" ;;
        garbage) printf 'garbage,,\n\x01\x02 more\n' >> "$d/log.csv" ;;
    esac
    $A train --resume --out "$d" >/dev/null 2>"$tmp/err" && ok || bad "log $damage: resume failed: $(cat "$tmp/err")"
    [ "$(head -n 1 "$d/log.csv")" = "step,train_loss,val_loss,elapsed_s,tokens_per_s" ] && ok || bad "log $damage: header $(head -n 1 "$d/log.csv")"
    awk -F, 'BEGIN { prev = -1 } NR > 1 && (NF != 5 || $1 !~ /^[0-9]+$/ || $1 <= prev) { exit 1 } NR > 1 { prev = $1 }' "$d/log.csv" && ok \
        || bad "log $damage: rows not whole and increasing: $(cat "$d/log.csv")"
    [ "$(tail -n 1 "$d/log.csv" | cut -d, -f1)" = 399 ] && ok || bad "log $damage: the last row is not step 399"
done

# --overwrite then a failure before the first save: the old run is gone, not resumed under the new log
d="$tmp/ow"
$A train "${cfg[@]}" --max-iters 20 --out "$d" >/dev/null 2>&1 && [ -s "$d/train_state.safetensors" ] || bad "the run to overwrite failed"
$A train "${cfg[@]}" --learning-rate 1000 --overwrite --out "$d" >/dev/null 2>&1
[ $? -eq 3 ] && ok || bad "the replacing run should diverge"
expect_fail "resume after a failed overwrite" 2 "--resume needs" $A train --resume --out "$d"

# the study under a file-size limit: a message, not a silent SIGXFSZ; a directory of other files is not a study's
(ulimit -f 1; $A study "${study[@]}" --max-iters 40 --out "$tmp/st/full" >/dev/null 2>"$tmp/err"); rc=$?
[ $rc -eq 2 ] && grep -q "cannot write" "$tmp/err" && ok || bad "study on a full disk: exit $rc, $(cat "$tmp/err")"
mkdir -p "$tmp/st/mine"; echo "my notes" > "$tmp/st/mine/report.md"
expect_fail "study into a directory of other files" 2 "not a study's" $A study "${study[@]}" --max-iters 2 --out "$tmp/st/mine"
[ "$(cat "$tmp/st/mine/report.md")" = "my notes" ] && ok || bad "the user's report.md was overwritten"
$A study "${study[@]}" --max-iters 2 --overwrite --out "$tmp/st/mine" >/dev/null 2>&1 && ok || bad "study --overwrite"

# links planted where the tool writes (a shared study directory): a lock, a shard's lock, the training log
# and the plots' log are never followed, nor written through a hard link; the target is left as it was
echo "victim" > "$tmp/victim"
tiny=(--task markov --max-iters 2 --batch-size 2 --block-size 8 --n-embd 8 --n-head 1 --n-layer 1 --eval-iters 1)
mkdir -p "$tmp/l1" "$tmp/l2" "$tmp/l3" "$tmp/l4/runs" "$tmp/l5/runs"
ln -s "$tmp/victim" "$tmp/l1/.lock"
expect_fail "a symbolic link at .lock" 2 "symbolic link" $A train "${tiny[@]}" --out "$tmp/l1"
ln -s "$tmp/victim" "$tmp/l2/log.csv"
expect_fail "a symbolic link at log.csv" 2 "not a regular file" $A train "${tiny[@]}" --out "$tmp/l2"
ln "$tmp/victim" "$tmp/l3/.lock"
expect_fail "a hard link at .lock" 2 "hard link" $A train "${tiny[@]}" --out "$tmp/l3"
ln -s "$tmp/victim" "$tmp/l4/.lock-shard-1-of-2"
expect_fail "a symbolic link at a shard's lock" 2 "symbolic link" $A study "${study[@]}" --max-iters 2 --shard 1/2 --out "$tmp/l4"
if command -v gnuplot >/dev/null; then
    mkdir -p "$tmp/l5/plots"; ln -s "$tmp/victim" "$tmp/l5/plots/gnuplot.log"
    $A study "${study[@]}" --max-iters 2 --out "$tmp/l5" >/dev/null 2>&1
fi
[ "$(cat "$tmp/victim")" = victim ] && [ ! -L "$tmp/victim" ] && ok || bad "a link's target was written: $(head -c 80 "$tmp/victim")"

# a worker killed from outside (the OOM killer, kill -9) is named with the run it lost, its temporary record
# removed, and a rerun finishes the study
kw=(--task markov --schemes standard --seeds 2 --max-iters 3000 --eval-iters 1 --batch-size 8 --block-size 32 --n-embd 32
    --n-head 2 --n-layer 1 --timing-rounds 0 --jobs 2)
$A study "${kw[@]}" --out "$tmp/kw" > /dev/null 2> "$tmp/kw.err" &
spid=$!
for _ in $(seq 1 500); do [ -n "$(ls "$tmp/kw/runs" 2>/dev/null | grep '\.tmp$')" ] && break; sleep 0.02; done
victim=$(ls "$tmp/kw/runs" | grep -m1 '\.tmp$' | sed -E 's/.*\.csv\.([0-9]+)\.[0-9]+\.tmp$/\1/')
[ -n "$victim" ] && kill -KILL "$victim" 2>/dev/null
wait $spid; rc=$?  # the other worker finishes its runs
[ $rc -ne 0 ] && grep -q "worker [12] (pid $victim) was killed by signal 9 (SIGKILL.*) while training runs/markov-.*\.csv, which is lost" "$tmp/kw.err" \
    && ok || bad "a killed worker: exit $rc, stderr '$(cat "$tmp/kw.err")'"
[ -z "$(ls "$tmp/kw/runs" | grep -F ".$victim.")" ] && ok || bad "the killed worker's temporary record is left: $(ls "$tmp/kw/runs")"

# what an interrupted study leaves (a 0-byte temporary record, a drawing folder of a process that is gone) is
# removed by the next run that holds the directory alone; a shard, which shares it, leaves them be
mkdir -p "$tmp/sw/runs" "$tmp/sw/plots/.draw-999999999"
: > "$tmp/sw/runs/markov-none-0-1.csv.999999999.0.tmp"; : > "$tmp/sw/plots/.draw-999999999/curves_markov.png"
$A study "${study[@]}" --max-iters 2 --shard 1/2 --out "$tmp/sw" > /dev/null 2>&1
[ -e "$tmp/sw/runs/markov-none-0-1.csv.999999999.0.tmp" ] && ok || bad "a shard removed another's temporary record"
$A study "${study[@]}" --max-iters 2 --out "$tmp/sw" > /dev/null 2>&1
[ -z "$(ls "$tmp/sw/runs" | grep '\.tmp$')" ] && ok || bad "stale temporary records left: $(ls "$tmp/sw/runs")"
if command -v gnuplot >/dev/null; then
    [ ! -e "$tmp/sw/plots/.draw-999999999" ] && ok || bad "a stale drawing folder left"
fi

tally reliability
