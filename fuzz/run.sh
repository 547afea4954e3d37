#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 60) each, after replaying the regressions
# (inputs that once crashed a target, kept under fuzz/regressions/TARGET/). Needs cargo-fuzz;
# the stable toolchain builds the sanitizer flags with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${1:-60}"
export RUSTC_BOOTSTRAP=1
for target in conversions tape policy; do
  mkdir -p "corpus/$target" "regressions/$target"
  # Seeds: the shipped policy for the policy parser.
  [ "$target" != policy ] || cp ../services/domain/policy/default.toml corpus/policy/default.toml
  # Without a sanitizer (the code forbids unsafe): panics are what is looked for.
  cargo fuzz build -s none "$target"
  mapfile -t kept < <(find "regressions/$target" -type f ! -name .keep)
  if [ "${#kept[@]}" -gt 0 ]; then
    cargo fuzz run -s none "$target" "${kept[@]}" -- -runs=0
  fi
  log="$(mktemp)"
  if cargo fuzz run -s none "$target" "corpus/$target" -- -max_total_time="$SECONDS_EACH" -max_len=65536 \
      -print_final_stats=1 >"$log" 2>&1; then
    echo "fuzz $target: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') runs in ${SECONDS_EACH}s, no crash"
  else
    tail -40 "$log"
    echo "fuzz target $target found a crash: the input is under fuzz/artifacts/$target/; keep it in fuzz/regressions/$target/ with the fix"
    exit 1
  fi
done
