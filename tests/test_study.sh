#!/usr/bin/env bash
# test_study.sh BUILD - a small study (two schemes, two seeds, a few steps):
# its files and headers, every report section, a rerun that skips finished
# runs and leaves summary.csv byte-identical, an interrupted study that
# resumes to the same losses, and bad input refused before any training.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
A=${1:-build}/attndrop
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
small=(--task markov,copy --schemes standard,nonzero --p 0.5 --seeds 2 --max-iters 30 --eval-interval 10 --eval-iters 2
       --batch-size 8 --block-size 16 --n-embd 16 --n-head 2 --n-layer 1)

$A study "${small[@]}" --out "$tmp/s" > "$tmp/out" 2>&1 && ok || bad "study failed: $(tail -n 3 "$tmp/out")"
[ "$(ls "$tmp/s/runs" | wc -l)" -eq 12 ] && ok || bad "expected 12 run records (2 tasks x 3 cells x 2 seeds), got $(ls "$tmp/s/runs" | wc -l)"
check_header() {
    [ "$(head -n 1 "$tmp/s/$1")" = "$2" ] && ok || bad "$1 header: $(head -n 1 "$tmp/s/$1")"
}
check_header runs.csv "task,scheme,p,seed,step,train_loss,val_loss,elapsed_s"
check_header positions.csv "task,scheme,p,seed,pos,val_loss"
check_header zero_rows.csv "task,scheme,p,pos,observed_rate,exact_rate"
check_header summary.csv "task,scheme,p,seeds,final_val_mean,final_val_ci95,floor,above_floor,threshold,steps_to_threshold_mean,steps_to_threshold_ci95,seconds_to_threshold_mean,seconds_to_threshold_ci95,reached,sec_per_step,sec_per_step_vs_none"
[ "$(tail -n +2 "$tmp/s/summary.csv" | wc -l)" -eq 6 ] && ok || bad "summary rows"
[ "$(tail -n +2 "$tmp/s/positions.csv" | wc -l)" -eq $((12 * 16)) ] && ok || bad "positions rows"
# every run logs evaluations at 0, 10, 20 and its last step, 29
[ "$(grep -c '^markov,standard,0.5,1,' "$tmp/s/runs.csv")" -eq 4 ] && ok || bad "evaluations per run"
# the exact zero-row rate of standard is p^(i+1); nonzero never meets an all-zero row
awk -F, '$2 == "standard" { e = 0.5 ^ ($4 + 1); if ($6 - e > 1e-9 || e - $6 > 1e-9) exit 1 } $2 == "nonzero" && $5 != 0 { exit 1 }' \
    <(tail -n +2 "$tmp/s/zero_rows.csv") && ok || bad "zero_rows.csv rates"
for section in "## Task \`markov\`" "## Task \`copy\`" "## 1. " "## 2. " "## 3. " "## 4. " "## 5. " "## 6. " "## 7. " \
               "drop on the mask" "## References"; do
    grep -qF "$section" "$tmp/s/report.md" && ok || bad "report.md lacks '$section'"
done
if command -v gnuplot >/dev/null; then
    [ -s "$tmp/s/plots/loss_markov.png" ] && [ -s "$tmp/s/plots/zero_rows_copy.png" ] && ok || bad "plots missing"
else
    echo "SKIP: plots (gnuplot not installed)"
fi

# a rerun skips every run and writes the same summary
cp "$tmp/s/summary.csv" "$tmp/summary.before"
$A study "${small[@]}" --out "$tmp/s" > "$tmp/out2" 2>&1
grep -q "12 of 12 runs were already done" "$tmp/out2" && ok || bad "rerun did not skip: $(cat "$tmp/out2")"
cmp -s "$tmp/summary.before" "$tmp/s/summary.csv" && ok || bad "summary.csv changed on a rerun"

# an interrupted study loses at most the run in progress and resumes to the same losses
$A study "${small[@]}" --max-iters 300 --eval-interval 100 --out "$tmp/i" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1 1000); do [ "$(ls "$tmp/i/runs" 2>/dev/null | grep -vc tmp)" -ge 3 ] && break; sleep 0.01; done
kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null
n=$(ls "$tmp/i/runs" | grep -vc '\.tmp$')
[ "$n" -ge 3 ] && [ "$n" -lt 12 ] && ok || bad "the interruption came at $n of 12 runs"
$A study "${small[@]}" --max-iters 300 --eval-interval 100 --out "$tmp/i" > "$tmp/out3" 2>&1 && ok || bad "resume failed"
grep -q "$n of 12 runs were already done" "$tmp/out3" && ok || bad "resume redid finished runs: $(head -n 3 "$tmp/out3")"
$A study "${small[@]}" --max-iters 300 --eval-interval 100 --out "$tmp/u" > /dev/null 2>&1
[ "$(cut -d, -f1-7 "$tmp/i/runs.csv")" = "$(cut -d, -f1-7 "$tmp/u/runs.csv")" ] && ok || bad "a resumed study's losses differ"

# bad input fails before any training, with one line
expect_fail "unknown task" 1 "unknown task 'nope'" $A study --task nope --out "$tmp/b"
expect_fail "unknown scheme" 1 "unknown scheme 'nope'" $A study --schemes nope --out "$tmp/b"
expect_fail "p out of range" 1 "not a rate in [0, 1)" $A study --schemes standard --p 1.5 --out "$tmp/b"
expect_fail "quick and full" 1 "not both" $A study --quick --full
touch "$tmp/file"
expect_fail "unwritable out" 2 "cannot write into" $A study "${small[@]}" --out "$tmp/file/x"
[ ! -e "$tmp/b" ] && ok || bad "a refused study created its directory"
tally study
