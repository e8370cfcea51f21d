"""`latentr3 sweep` read back by independent code: TensorBoard's own HParams plugin (the handlers
behind its dashboard) must list every run of the study as a session with its settings and its
final test metrics, and the table's means and 95% intervals over seeds must equal a
recomputation from the runs' own report.json files.

usage: python3 sweep_hparams.py <study dir> <seeds>
"""
import csv
import glob
import json
import math
import os
import sys

from tensorboard import context
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.plugins import base_plugin
from tensorboard.plugins.hparams import api_pb2, get_experiment, hparams_plugin, list_session_groups

study, seeds = sys.argv[1], int(sys.argv[2])
# Student-t 0.975 quantiles by degrees of freedom.
T975 = {1: 12.706204736, 2: 4.302652730, 3: 3.182446305, 4: 2.776445105}
failures = []

mux = plugin_event_multiplexer.EventMultiplexer()
mux.AddRunsFromDirectory(study)
mux.Reload()
provider = data_provider.MultiplexerDataProvider(mux, study)
tb = base_plugin.TBContext(logdir=study, multiplexer=mux, data_provider=provider)
plugin = hparams_plugin.HParamsPlugin(tb)
request_context = context.RequestContext()
experiment = get_experiment.Handler(
    request_context, plugin._context, "", api_pb2.GetExperimentRequest()
).run()
hparams = [h.name for h in experiment.hparam_infos]
metrics = [m.name.tag for m in experiment.metric_infos]
if "sft.seed" not in hparams or "model.mode" not in hparams:
    failures.append(f"experiment hparams {hparams}")
if "test/NDCG@10" not in metrics:
    failures.append(f"experiment metrics {metrics}")
request = api_pb2.ListSessionGroupsRequest(
    start_index=0, slice_size=1000, allowed_statuses=[api_pb2.STATUS_SUCCESS]
)
for name in hparams:
    request.col_params.add(hparam=name)
for tag in metrics:
    request.col_params.add(metric=api_pb2.MetricName(tag=tag))
groups = list_session_groups.Handler(request_context, plugin._context, "", request).run()

reports = sorted(glob.glob(os.path.join(study, "runs", "*", "seed-*", "report.json")))
by_session = {g.name: g for g in groups.session_groups}
if len(by_session) != len(reports):
    failures.append(f"{len(by_session)} HParams sessions for {len(reports)} runs")
for path in reports:
    run = os.path.relpath(os.path.dirname(path), study)
    report = json.load(open(path))
    group = by_session.get(run)
    if group is None:
        failures.append(f"{run}: not an HParams session")
        continue
    seed = int(run.rsplit("seed-", 1)[1])
    if group.hparams["sft.seed"].number_value != seed:
        failures.append(f"{run}: sft.seed {group.hparams['sft.seed']}")
    values = {m.name.tag: m.value for m in group.metric_values}
    for prefix, stage in [("test", report["sft"]), ("rl_test", report.get("rl"))]:
        if stage is None:
            continue
        expected = stage["metrics"]["NDCG@10"]
        got = values.get(f"{prefix}/NDCG@10")
        if got is None or abs(got - expected) > 1e-6:
            failures.append(f"{run}: {prefix}/NDCG@10 {got} in TensorBoard, {expected} in report.json")

# The table against the reports: each training row's mean and interval over seeds.
table = {(r["row"], r["metric"]): r for r in csv.DictReader(open(os.path.join(study, "sweep.csv")))}
rows = {}
for path in reports:
    row_dir = os.path.basename(os.path.dirname(os.path.dirname(path)))
    report = json.load(open(path))
    rows.setdefault(row_dir, []).append(report)
checked = 0
for row_dir, runs in rows.items():
    if len(runs) != seeds:
        failures.append(f"{row_dir}: {len(runs)} runs for {seeds} seeds")
    for stage, label in [("sft", " [sft]"), ("rl", " [rl]")] if runs[0].get("rl") else [("sft", "")]:
        values = [r[stage]["metrics"]["NDCG@10"] for r in runs]
        mean = sum(values) / len(values)
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
        half = T975[len(values) - 1] * sd / math.sqrt(len(values))
        line = table.get((row_dir + label, "NDCG@10"))
        if line is None:
            failures.append(f"no sweep.csv line for {row_dir + label}")
            continue
        got = (float(line["mean"]), float(line["ci95_low"]), float(line["ci95_high"]))
        want = (mean, mean - half, mean + half)
        if any(abs(a - b) > 1e-9 for a, b in zip(got, want)):
            failures.append(f"{row_dir + label}: sweep.csv {got}, recomputed {want}")
        checked += 1

print(f"sweep vs TensorBoard's HParams plugin and report.json: {len(by_session)} sessions, "
      f"{checked} table rows, {len(failures)} differ")
for line in failures:
    print("  " + line)
sys.exit(1 if failures else 0)
