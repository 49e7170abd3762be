# lib.sh - shared helpers of the shell tests: counted checks and a tally line.
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# expect_fail NAME EXIT NEEDLE CMD...: CMD exits with EXIT (not a signal), and
# prints exactly one line on stderr, containing NEEDLE
expect_fail() {
    local name=$1 code=$2 needle=$3; shift 3
    local err rc
    err=$("$@" 2>&1 >/dev/null); rc=$?
    if [ $rc -ne "$code" ]; then bad "$name: exit $rc, expected $code ($err)"; return; fi
    if [ "$(grep -c '' <<<"$err")" -ne 1 ]; then bad "$name: expected one line on stderr, got: $err"; return; fi
    case "$err" in *"$needle"*) ok ;; *) bad "$name: '$err' does not mention '$needle'" ;; esac
}
tally() { echo "$1: $pass passed, $fail failed"; [ $fail -eq 0 ]; }
