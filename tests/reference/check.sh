#!/usr/bin/env bash
# Independent checks of the evaluation protocol, run by CI after the Rust tests:
#  1. latentr3's baselines (split, popularity, masking, ranks, every metric) against
#     tests/reference/protocol.py, a separate implementation, on a generated ratings file shaped
#     like real data (1- to 150-item users, equal timestamps, repeats): equal to 1e-9;
#  2. the Rust evaluator and its numpy peer (benches/numpy_eval.py) on one score file with
#     ties, NaN and -inf: equal to 1e-9;
#  3. `latentr3 data stats` and the pandas pipeline peer (benches/pandas_pipeline.py) on the
#     same file: equal counts;
#  4. a small `latentr3 sweep`, run twice (the second trains nothing), read back by TensorBoard's
#     own HParams plugin and its table recomputed from the runs' report.json files.
# Needs python3 with numpy, pandas and tensorboard (installed from PyPI when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

if ! python3 -c "import numpy, pandas, tensorboard" 2>/dev/null; then
  python3 -m pip install --quiet numpy pandas tensorboard
fi

cargo build --quiet -p latentr3-cli
cargo build --quiet -p latentr3-eval --example score_file
bin=${CARGO_TARGET_DIR:-$root/target}/debug
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
python3 "$root/tests/reference/generate.py" ratings.csv 400 300 1

compare() { # label, latentr3 report, reference report
  python3 - "$@" <<'PY'
import json, sys
label, ours, ref = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
a, b = ours["metrics"], ref["metrics"]
bad = [f"{k}: latentr3 {a.get(k)} vs reference {b.get(k)}" for k in sorted(set(a) | set(b))
       if k not in a or k not in b or abs(a[k] - b[k]) > 1e-9 * max(1.0, abs(b[k]))]
if ours["protocol"]["cases"] != ref["cases"]:
    bad.append(f"cases: latentr3 {ours['protocol']['cases']} vs reference {ref['cases']}")
print(f"{label}: {ref['cases']} cases, {len(b)} metrics, {len(bad)} differ")
for line in bad:
    print("  " + line)
sys.exit(1 if bad else 0)
PY
}

status=0
# kind, masking, de-duplication, baseline, cases
for row in \
  "leave-one-out true  true  pop    test" \
  "leave-one-out true  true  pop    valid" \
  "leave-one-out false true  pop    test" \
  "leave-one-out true  false pop    test" \
  "leave-one-out true  true  random test" \
  "temporal      true  true  pop    test" \
  "temporal      true  false random valid" \
  "temporal      false true  pop    test"; do
  read -r kind mask dedup baseline cases <<<"$row"
  cat > exp.toml <<TOML
[data]
path = "ratings.csv"
cache = false
[data.filter]
user_core = 0
item_core = 0
dedup = $dedup
[data.split]
kind = "$kind"
max_history = 5
[eval]
ks = [1, 5, 10, 20]
mask_history = $mask
TOML
  flags=(); ref=()
  [ "$cases" = valid ] && { flags+=(--valid); ref+=(--valid); }
  [ "$mask" = false ] && ref+=(--no-mask)
  [ "$dedup" = false ] && ref+=(--no-dedup)
  "$bin/latentr3" eval --baseline "$baseline" --config exp.toml --json "${flags[@]}" > ours.json 2>/dev/null
  python3 "$root/tests/reference/protocol.py" ratings.csv --split "$kind" --baseline "$baseline" \
    --ks 1,5,10,20 "${ref[@]}" > ref.json
  compare "$kind masked=$mask dedup=$dedup $baseline $cases" ours.json ref.json || status=1
done

python3 "$root/benches/numpy_eval.py" write scores 3000 2000
"$bin/examples/score_file" scores > rust.json
python3 "$root/benches/numpy_eval.py" compare scores rust.json || status=1

"$bin/latentr3" data stats ratings.csv --json > stats.json 2>/dev/null
python3 "$root/benches/pandas_pipeline.py" ratings.csv > pandas.json
python3 - stats.json pandas.json <<'PY' || status=1
import json, sys
ours, peer = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
pairs = {"users": ours["users"], "items": ours["items"], "interactions": ours["interactions"],
         "train_samples": ours["train_samples"], "valid": ours["valid_samples"],
         "test": ours["test_samples"]}
bad = [f"{k}: latentr3 {v} vs pandas {peer[k]}" for k, v in pairs.items() if v != peer[k]]
print(f"pipeline vs pandas: {len(pairs)} counts, {len(bad)} differ ({pairs})")
for line in bad:
    print("  " + line)
sys.exit(1 if bad else 0)
PY

cat > sweep.toml <<'TOML'
[data]
cache = false
[data.synthetic]
users = 80
items = 40
min_length = 6
max_length = 14
[sft]
epochs = 2
[rl]
epochs = 1
TOML
sweep=("$bin/latentr3" sweep --config sweep.toml --row "backbone: model.mode=backbone"
  --row latent --seeds 2 --pop --baseline backbone --out study)
"${sweep[@]}" > first.md 2>/dev/null
"${sweep[@]}" > second.md 2>second.log
if ! grep -q "0 runs trained, 4 finished before" second.log || ! cmp -s first.md second.md; then
  echo "sweep: the second run trained again or printed another table"; status=1
fi
python3 "$root/tests/reference/sweep_hparams.py" study 2 || status=1

if [ "$status" -ne 0 ]; then
  echo "protocol checks: FAILED"
else
  echo "protocol checks: all agree"
fi
exit "$status"
