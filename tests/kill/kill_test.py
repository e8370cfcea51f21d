"""Kills `latentr3 train` with SIGKILL at seeded random moments, resumes it each time, and checks
that the final report equals an uninterrupted run's and that no file is left half-written.

    python3 tests/kill/kill_test.py <latentr3 binary> [kills] [seed]

The experiment is small synthetic data (SFT then RL), so one run takes seconds; the kill
moments are drawn over the whole run (SFT epochs, the RL stage, the final evaluation)."""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

CONFIG = """[data]
cache = false
[data.synthetic]
users = 300
items = 120
min_length = 8
max_length = 30
[model]
max_len = 12
hidden = 16
heads = 2
inner = 32
[sft]
epochs = 4
batch_size = 16
[rl]
epochs = 2
batch_size = 16
"""


def metrics(run):
    with open(os.path.join(run, "report.json")) as f:
        report = json.load(f)
    return report["sft"]["metrics"], report["rl"]["metrics"], report["rl_vs_sft"]


def main(binary, kills=20, seed=2026):
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="latentr3-kill-")
    config = os.path.join(work, "tiny.toml")
    with open(config, "w") as f:
        f.write(CONFIG)
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    whole = os.path.join(work, "whole")
    started = time.monotonic()
    subprocess.run([binary, "train", "--config", config, "--out", whole], check=True, **quiet)
    duration = time.monotonic() - started

    # Fresh runs, each killed until it finishes on its own, until `kills` kills in all.
    killed, runs, failures = 0, 0, []
    while killed < kills:
        run = os.path.join(work, f"killed-{runs}")
        runs += 1
        while True:
            if not os.path.exists(os.path.join(run, "config.toml")):
                command = [binary, "train", "--config", config, "--out", run]
            else:
                command = [binary, "train", "--resume", run]
            process = subprocess.Popen(command, **quiet)
            try:
                process.wait(timeout=rng.uniform(0.05, duration))
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.wait()
                killed += 1
                continue
            if process.returncode != 0:
                sys.exit(f"{run}: a resume failed (exit {process.returncode}) after {killed} kills")
            break
        leftovers = [os.path.join(d, f) for d, _, files in os.walk(run) for f in files
                     if ".tmp" in f or f.startswith(".tmp")]
        if metrics(run) != metrics(whole) or leftovers:
            failures.append({"run": run, "leftovers": leftovers})
    print(json.dumps({"kills": killed, "runs": runs, "uninterrupted_s": round(duration, 1),
                      "failures": failures}))
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:]))
