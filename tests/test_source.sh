#!/usr/bin/env bash
# test_source.sh - the source tree's own conventions: Universal Ctags indexes
# every kernel of layers.inc and sdpa.inc under both of its names (.ctags.d/), and the
# study's report files depend on each other without a circle (the sections
# read report_data.h only; report_text.c adds the sections it quotes).
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
if ctags --version 2>/dev/null | grep -q "Universal Ctags"; then
    defs=$(cat src/model/*.inc | grep -c '^[A-Za-z][^(]*AD_KERNEL(ad_k_')
    index=$(ctags -R -f - src)  # whole, before any grep: grep -q closing the pipe early would fail it under pipefail
    tags=$(awk -F'\t' '$1 ~ /^ad_k_/ && $NF == "k"' <<<"$index" | wc -l)
    [ "$defs" -gt 10 ] && [ "$tags" -eq $((2 * defs)) ] && ok || bad "ctags indexes $tags kernel names for $defs AD_KERNEL definitions"
    grep -q $'^ad_k_attention_fwd_f\tsrc/model/layers.inc' <<<"$index" && ok || bad "ctags does not find ad_k_attention_fwd_f"
else
    echo "SKIP: ctags (Universal Ctags, Debian's universal-ctags) not installed"
fi
for f in cli/study/report_scale.c cli/study/report_gptpy.c cli/study/report_data.c; do
    ! grep -q '#include "report\(_parts\)\?\.h"' "$f" && ok || bad "$f includes report.h or report_parts.h: a circle"
done
! grep -q '#include "report\.h"' cli/study/report_text.c && ok || bad "report_text.c includes report.h: a circle"
tally source
