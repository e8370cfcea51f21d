#!/usr/bin/env bash
# Benchmarks recorded in BENCHMARKS.md. Each pairs a latentr3 run with its Python peer in the
# same session, interleaved, RUNS times (default 3), and prints medians and ratios.
#   benches/run.sh            # both
#   benches/run.sh pipeline   # data pipeline vs pandas (20M-row ratings.csv, generated once)
#   benches/run.sh eval       # full-ranking evaluation vs numpy (138,493 users x 26,744 items)
# Needs: pip install pandas numpy
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
which=${1:-all}
out=$PWD/data/bench
mkdir -p "$out"

summarise() {
  python3 - "$1" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
by = {}
for r in rows:
    by.setdefault(r["impl"], []).append(r)
keys = [k for k in ("rows_per_s", "users_per_s") if k in rows[0]]
rate = keys[0]
medians = {}
for impl, rs in by.items():
    medians[impl] = statistics.median(r[rate] for r in rs)
    rss = statistics.median(r["peak_rss_bytes"] for r in rs) / 2**20
    extra = ""
    if "file_bytes" in rs[0]:
        extra = f", peak RSS / file size {statistics.median(r['peak_rss_bytes'] / r['file_bytes'] for r in rs):.2f}"
    secs = statistics.median(r["seconds"] for r in rs)
    print(f"{impl:<22} runs {len(rs)}  median {secs:8.2f} s  {rate} {medians[impl]:>12,.0f}  peak RSS {rss:8.0f} MiB{extra}")
# Both sides must have computed the same thing: equal counts, asserted.
counted = ["users", "items", "interactions", "train_samples", "valid", "test"]
shared = [c for c in counted if all(c in r for r in rows)]
for c in shared:
    values = {r["impl"]: r[c] for r in rows}
    if len(set(values.values())) != 1:
        sys.exit(f"counts differ: {c} {values}")
if shared:
    print("counts agree: " + ", ".join(f"{c} {rows[0][c]:,}" for c in shared))
ours = [v for k, v in medians.items() if k.startswith("latentr3")]
peers = [v for k, v in medians.items() if not k.startswith("latentr3")]
if ours and peers:
    print(f"ratio latentr3 / peer (median {rate}): {ours[0] / peers[0]:.2f}x")
PY
}

if [ "$which" = all ] || [ "$which" = pipeline ]; then
  csv=$out/ml-20m-synthetic/ratings.csv
  mkdir -p "$(dirname "$csv")"
  if [ ! -f "$csv" ]; then
    echo "generating $csv (20M rows, ML-20M shape)"
    cargo bench -q -p latentr3-data --bench pipeline -- generate "$csv"
  fi
  cargo bench -q -p latentr3-data --bench pipeline --no-run 2>/dev/null
  results=$out/pipeline.jsonl
  : > "$results"
  for i in $(seq "$runs"); do
    cargo bench -q -p latentr3-data --bench pipeline -- run "$csv" | tee -a "$results"
    python3 benches/pandas_pipeline.py "$csv" | tee -a "$results"
  done
  summarise "$results"
fi

if [ "$which" = all ] || [ "$which" = eval ]; then
  cargo bench -q -p latentr3-eval --bench full_ranking --no-run 2>/dev/null
  results=$out/eval.jsonl
  : > "$results"
  for i in $(seq "$runs"); do
    cargo bench -q -p latentr3-eval --bench full_ranking -- "${EVAL_USERS:-138493}" 26744 | tee -a "$results"
    python3 benches/numpy_eval.py "${EVAL_USERS:-138493}" 26744 | tee -a "$results"
  done
  summarise "$results"
fi
