#!/usr/bin/env bash
# The long fuzzing run of tests/fuzz.rs (issue 12, figures for BENCHMARKS.md): every target with
# PROPTEST_CASES cases (default 1,000,000), one target at a time so each gets the machine, in
# release. Prints per target the cases, the wall time and the slowest case. Login bodies go
# through argon2 when they are well-formed, so that target gets LOGIN_CASES (default 20,000)
# unless told otherwise. Output: target/fuzz-<target>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${PROPTEST_CASES:-1000000}
login_cases=${LOGIN_CASES:-20000}
cargo test --release --test fuzz --no-run --quiet
mkdir -p target
for target in proposals boundary_features tile_paths_and_layer_lists crs_strings as_of \
    address_normalisation login_bodies; do
    n=$cases
    [ "$target" = login_bodies ] && n=$login_cases
    echo "== fuzz_$target: $n cases"
    PROPTEST_CASES=$n cargo test --release --quiet --test fuzz "fuzz_$target" -- --exact --nocapture \
        2>&1 | tee "target/fuzz-$target.log" | grep -E '^fuzz |panicked|test result'
done
