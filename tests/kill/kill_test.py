"""Kills `latentr3 train` with SIGKILL at seeded random moments, resumes it each time, and checks
that the final report equals an uninterrupted run's and that no file is left half-written.

    python3 tests/kill/kill_test.py <latentr3 binary> [kills] [seed]

The experiment is small synthetic data (SFT then RL), so one run takes seconds; the kill
moments are drawn over the whole run (SFT epochs, the RL stage); one kill in three waits for
the RL stage's end and falls within the final evaluation, too short to be hit by chance."""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

# Printed (on stderr) when the RL stage has ended and the final test evaluation begins.
FINAL = "RL: best step"

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
eval_every = 5
"""


def metrics(run):
    with open(os.path.join(run, "report.json")) as f:
        report = json.load(f)
    return report["sft"]["metrics"], report["rl"]["metrics"], report["rl_vs_sft"]


def phase(run):
    """Where a killed run was, from what it had written: SFT, the RL stage, or the evaluation
    after it (the RL stage's last state says it had stopped)."""
    checkpoints = os.path.join(run, "checkpoints")
    if not os.path.exists(os.path.join(checkpoints, "sft-done.json")):
        return "sft"
    try:
        with open(os.path.join(checkpoints, "rl-last", "progress.json")) as f:
            stopped = json.load(f).get("stopped")
    except (OSError, ValueError):
        stopped = None
    return "final evaluation" if stopped else "rl"


def main(binary, kills=20, seed=2026):
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="latentr3-kill-")
    config = os.path.join(work, "tiny.toml")
    with open(config, "w") as f:
        f.write(CONFIG)

    def start(command):
        """Starts `command`; returns the process and an event set when FINAL is printed."""
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True)
        final = threading.Event()

        def drain():
            for line in process.stderr:
                if line.startswith(FINAL):
                    final.set()

        threading.Thread(target=drain, daemon=True).start()
        return process, final

    whole = os.path.join(work, "whole")
    started = time.monotonic()
    process, final = start([binary, "train", "--config", config, "--out", whole])
    if not final.wait(timeout=600):
        process.kill()
        sys.exit(f"the uninterrupted run never printed a line starting {FINAL!r}")
    final_started = time.monotonic()
    if process.wait() != 0:
        sys.exit("the uninterrupted run failed")
    duration = time.monotonic() - started
    final_window = time.monotonic() - final_started

    # Fresh runs, each killed until it finishes on its own, until `kills` kills in all.
    killed, runs, failures, phases = 0, 0, [], {}
    while killed < kills:
        run = os.path.join(work, f"killed-{runs}")
        runs += 1
        while True:
            if not os.path.exists(os.path.join(run, "config.toml")):
                command = [binary, "train", "--config", config, "--out", run]
            else:
                command = [binary, "train", "--resume", run]
            process, final = start(command)
            if rng.random() < 1 / 3:
                # Within the final evaluation (or, rarely, just after the process ended).
                final.wait(timeout=duration * 3)
                timeout = rng.uniform(0, final_window)
            else:
                timeout = rng.uniform(0.05, duration)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.wait()
                killed += 1
                if os.path.exists(os.path.join(run, "report.json")):
                    # Killed after writing its report, while exiting: the run is finished.
                    phases["after the report"] = phases.get("after the report", 0) + 1
                    break
                where = phase(run)
                phases[where] = phases.get(where, 0) + 1
                continue
            if process.returncode != 0:
                sys.exit(f"{run}: a resume failed (exit {process.returncode}) after {killed} kills")
            break
        leftovers = [os.path.join(d, f) for d, _, files in os.walk(run) for f in files
                     if ".tmp" in f or f.startswith(".tmp")]
        if metrics(run) != metrics(whole) or leftovers:
            failures.append({"run": run, "leftovers": leftovers})
    print(json.dumps({"kills": killed, "phases": phases, "runs": runs,
                      "uninterrupted_s": round(duration, 1),
                      "final_evaluation_s": round(final_window, 3), "failures": failures}))
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:]))
