#!/usr/bin/env bash
# run_all.sh BUILD PYTHON - runs every test program and script, then prints
# the suite's tally: "N passed, N failed, N skipped" (each program's checks).
set -u -o pipefail
build=${1:-build}
python=${2:-/usr/bin/python3}
export ATTNDROP_BUILD=$build ATTNDROP_PYTHON=$python
passed=0 failed=0 skipped=0 broken=()
run() {
    local name=$1; shift
    echo "== $name"
    local out rc
    out=$("$@" 2>&1); rc=$?
    printf '%s\n' "$out"
    local line p f s
    line=$(printf '%s\n' "$out" | grep -E '^[a-z0-9_-]+: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -n "$line" ]; then
        p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
        f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
        passed=$((passed + p)); failed=$((failed + f))
    fi
    s=$(printf '%s\n' "$out" | grep -c '^SKIP' || true)
    skipped=$((skipped + s))
    if [ $rc -ne 0 ]; then
        broken+=("$name (exit $rc)")
        [ -z "$line" ] && failed=$((failed + 1))
    elif [ "$s" -eq 0 ] && [ "$name" != bench_layers ] && { [ -z "$line" ] || { [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; }; }; then
        # an exit 0 without a SKIP line and with no tally, or a tally of no checks, checked nothing
        # (bench_layers alone prints no tally)
        broken+=("$name (no checks and no SKIP line)"); failed=$((failed + 1))
    fi
}
# a program that cannot run counts as failed, not as absent
missing() { echo "== $1"; echo "FAIL: $2"; broken+=("$1 ($2)"); failed=$((failed + 1)); }
for src in tests/test_*.c; do  # every C test in tests/ is built and runs
    t=$build/tests/$(basename "$src" .c)
    if [ -x "$t" ]; then run "${t##*/}" "$t"; else missing "${t##*/}" "$t is not built"; fi
done
for src in fuzz/fuzz_*.c; do  # the fuzzing corpus and every crash found, replayed
    name=${src#fuzz/fuzz_}; name=${name%.c}; f=$build/fuzz/replay_$name
    if [ ! -x "$f" ]; then missing "${f##*/}" "$f is not built"
    elif [ -z "$(ls -A "fuzz/corpus/$name" 2>/dev/null)" ]; then missing "${f##*/}" "fuzz/corpus/$name is missing or empty"
    else run "${f##*/}" "$f" "fuzz/corpus/$name" "fuzz/crashes/$name"; fi
done
run bench_layers "$build/bench_layers" --quick  # builds and runs in every build (timings not checked)
run test_source.sh tests/test_source.sh
run test_cli.sh tests/test_cli.sh "$build"
run test_e2e.sh tests/test_e2e.sh "$build"
run test_reliability.sh tests/test_reliability.sh "$build"
run test_study.sh tests/test_study.sh "$build"
run test_results.sh tests/test_results.sh "$build"
run test_robust.sh tests/test_robust.sh "$build"
run test_torch.sh tests/test_torch.sh "$build" "$python"
run test_python.sh tests/test_python.sh "$build" "$python"
run test_pytest.sh tests/test_pytest.sh "$build"
run test_install.sh tests/test_install.sh "$build" "$python"
echo
for b in "${broken[@]+"${broken[@]}"}"; do echo "FAILED: $b"; done
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ] && [ ${#broken[@]} -eq 0 ]
