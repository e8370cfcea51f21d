"""Prints the SFT-vs-RL table of run directories from their report.json (BENCHMARKS.md).

    python3 benches/rl_table.py runs/ml100k-latent runs/ml100k-rl-group ...
"""

import json
import statistics
import sys

COLUMNS = ["NDCG@10", "HR@10", "HeadNDCG@10", "TailNDCG@10", "ItemCoverage@10", "Gini@10", "APLT@10"]


def main(runs):
    print("| run | stage | " + " | ".join(COLUMNS) + " | RL−SFT NDCG@10 [95% CI] | RL−SFT HR@10 [95% CI] | epoch s (SFT / RL) |")
    print("|---|---|" + "---|" * (len(COLUMNS) + 3))
    for run in runs:
        with open(f"{run}/report.json") as f:
            report = json.load(f)
        stage = report.get("rl_stage") or {}
        intervals = {c["metric"]: c for c in report.get("rl_vs_sft", [])}
        for name in ["sft", "rl"]:
            metrics = (report.get(name) or {}).get("metrics")
            if metrics is None:
                continue
            cells = [f"{metrics[c]:.4f}" for c in COLUMNS]
            extra = ["", "", ""]
            if name == "rl":
                for i, m in enumerate(["NDCG@10", "HR@10"]):
                    c = intervals[m]
                    extra[i] = f"{c['difference']:+.4f} [{c['low']:+.4f}, {c['high']:+.4f}]"
                sft_s = statistics.median(stage["sft_epoch_seconds"]) if stage.get("sft_epoch_seconds") else float("nan")
                rl_s = statistics.median(stage["rl_epoch_seconds"])
                extra[2] = f"{sft_s:.1f} / {rl_s:.1f}"
            print(f"| {run} | {name} | " + " | ".join(cells + extra) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
