#!/usr/bin/env bash
# The long fuzzing run of tests/fuzz.rs (issue 12, figures for BENCHMARKS.md): every target with
# PROPTEST_CASES cases (default 1,000,000), one target at a time so each gets the machine, in
# release. Prints per target the cases, the wall time and the slowest case (and progress every
# 100,000 cases). Well-formed login bodies go through argon2 until the back-off refuses their
# name; LOGIN_CASES (default: PROPTEST_CASES) sets that target's count. The test binary is run directly (not through cargo), so a long run does
# not hold cargo's build lock. Output: target/fuzz-<target>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${PROPTEST_CASES:-1000000}
login_cases=${LOGIN_CASES:-$cases}
targets=${TARGETS:-"crs_strings address_normalisation tile_paths_and_layer_lists proposals as_of boundary_features login_bodies"}
bin=$(cargo test --release --test fuzz --no-run --message-format=json 2>/dev/null |
    grep '"name":"fuzz","src_path"' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "cannot build tests/fuzz.rs" >&2; exit 1; }
mkdir -p target
for target in $targets; do
    n=$cases
    [ "$target" = login_bodies ] && n=$login_cases
    echo "== fuzz_$target: $n cases"
    PROPTEST_CASES=$n "$bin" "fuzz_$target" --exact --nocapture --test-threads 1 \
        2>&1 | tee "target/fuzz-$target.log" | grep -E '^fuzz |panicked|test result' | cut -c1-400 || true
done
