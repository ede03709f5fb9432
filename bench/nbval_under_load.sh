#!/usr/bin/env bash
# Are the saved outputs deterministic? Run nbval over notebooks/ N times in a row while another
# process keeps one core busy, and print the failures of each run (the target is 0 every time).
# Usage: sudo bash bench/nbval_under_load.sh [RUNS]   (after bash scripts/setup)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
python3 -c 'while True: pass' &   # the busy core
busy=$!
trap 'kill $busy 2>/dev/null' EXIT
total=0
for i in $(seq 1 "$runs"); do
  t0=$SECONDS
  set +e
  out=$(.venv/bin/python -m pytest notebooks --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg \
          -p no:cacheprovider -q 2>&1)
  set -e
  failed=$(grep -cE "^FAILED" <<<"$out" || true)
  total=$((total + failed))
  echo "run $i: $(tail -n 1 <<<"$out")  ($((SECONDS - t0)) s, failed cells: $failed)"
  grep -E "^FAILED" <<<"$out" || true
done
echo "nbval under load: $runs runs, $total failed cells in all"
[[ $total -eq 0 ]]
