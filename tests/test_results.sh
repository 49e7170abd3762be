#!/usr/bin/env bash
# test_results.sh BUILD - the committed scaling study (docs/results/scale): its headline, the effects measured
# at gpt.py's T, H and L (the t256-h6-l6 setting), recomputed from the raw run records with awk (each record's
# last val loss, paired per seed, the 95% t interval) and compared with effects.csv and with the numbers the
# report's "In short" quotes; then, where tiny Shakespeare is at hand (the --data of the committed command),
# the whole report rebuilt with --report-only from the committed records, byte for byte.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
A=${1:-build}/attndrop
dir=docs/results/scale
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if git rev-parse --is-inside-work-tree > /dev/null 2>&1 && [ -n "$(git ls-files "$dir")" ]; then
    # the committed records only: a study running in this checkout writes new ones beside them
    mkdir -p "$tmp/committed"
    git ls-files -z "$dir" | xargs -0 cp --parents -t "$tmp/committed"
    dir=$tmp/committed/$dir
fi
if ! ls "$dir"/runs/t256-h6-l6-*.csv > /dev/null 2>&1; then
    echo "SKIP: no committed corner records in $dir/runs"
    tally results
    exit
fi
# t(0.975, df) for df 1..30
t975="12.706205 4.302653 3.182446 2.776445 2.570582 2.446912 2.364624 2.306004 2.262157 2.228139 2.200985 2.178813
      2.160369 2.144787 2.131450 2.119905 2.109816 2.100922 2.093024 2.085963 2.079614 2.073873 2.068658 2.063899
      2.059539 2.055529 2.051831 2.048407 2.045230 2.042272"
for p in 0.2 0.5; do
    for base in standard none; do
        scheme=$([ $base = standard ] && echo nonzero || echo standard)
        bp=$([ $base = standard ] && echo $p || echo 0)
        want=$(for f in "$dir"/runs/t256-h6-l6-$scheme-$p-*.csv; do
                   s=${f##*-}; s=${s%.csv}
                   g="$dir/runs/t256-h6-l6-$base-$bp-$s.csv"
                   [ -f "$g" ] || continue
                   a=$(grep '^L,' "$f" | tail -n 1 | cut -d, -f4); b=$(grep '^L,' "$g" | tail -n 1 | cut -d, -f4)
                   echo "$a $b"
               done | awk -v t="$t975" '{ d[++n] = $1 - $2; m += $1 - $2 }
                   END { if (n < 2) exit; split(t, q, " "); m /= n; for (i = 1; i <= n; i++) ss += (d[i] - m) ^ 2
                         printf "%d,%.6f,%.6f", n, m, q[n - 1] * sqrt(ss / (n - 1)) / sqrt(n) }')
        got=$(awk -F, -v s=$scheme -v p=$p '$1 == "t256-h6-l6" && $2 == s && $3 == p { printf "%d,%s,%s", $5, $6, $7 }' "$dir/effects.csv")
        awk -v a="$want" -v b="$got" 'BEGIN { split(a, x, ","); split(b, y, ",")
            exit !(a != "" && x[1] == y[1] && (x[2] - y[2]) ^ 2 < 4e-12 && (x[3] - y[3]) ^ 2 < 4e-12) }' \
            && ok || bad "t256-h6-l6 $scheme - $base at p=$p: effects.csv '$got', from the records '$want'"
        if [ $scheme = nonzero ]; then
            IFS=, read -r n m c <<<"$got"
            grep -q "Measured\*\* on \`t256-h6-l6\`.* p=$p $(printf '%+.4f' "$m") ± $(printf '%.4f' "$c") ($n seeds)" "$dir/report.md" \
                && ok || bad "In short does not quote t256-h6-l6 at p=$p ($got)"
        fi
    done
done
shakespeare=${ATTNDROP_SHAKESPEARE:-../shared/data/tinyshakespeare.txt}
if [ -f "$shakespeare" ] && command -v gnuplot > /dev/null; then
    cp -r "$dir" "$tmp/scale"
    $A study --scale --data "$shakespeare" --report-only --out "$tmp/scale" > "$tmp/out" 2>&1 && ok \
        || bad "--report-only on the committed records: $(tail -n 2 "$tmp/out")"
    for f in report.md effects.csv position_bins.csv summary.csv settings.csv scale.csv scale_fits.csv \
             scale_prediction.csv steps.csv mechanism.csv runs.csv positions.csv; do
        [ -f "$dir/$f" ] || continue
        cmp -s "$dir/$f" "$tmp/scale/$f" && ok || bad "$f does not rebuild from the committed records byte for byte"
    done
else
    echo "SKIP: the committed report rebuilt (needs $shakespeare, set ATTNDROP_SHAKESPEARE, and gnuplot)"
fi
tally results
