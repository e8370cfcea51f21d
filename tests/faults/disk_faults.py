"""Run-directory faults on real file systems: a read-only directory and a full disk (small
tmpfs mounts; needs root, as CI has).

    python3 tests/faults/disk_faults.py <latentr3 binary> [sizes in KiB ...]

- A run whose `--out` is on a read-only file system is refused before any training, with a
  message naming the directory; so is `--resume` of a run on a file system remounted read-only.
- A run on a tmpfs too small for it fails with a message naming the file it could not write and
  a non-zero exit; it leaves no temporary file, and once the disk has room again `--resume`
  continues from the last good checkpoint to the uninterrupted run's report. Each size fills
  the disk at another moment (a checkpoint, the resumable state, the report, TensorBoard)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

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


def run(command):
    return subprocess.run(command, capture_output=True, text=True)


def mount(path, size_kib, read_only=False):
    os.makedirs(path, exist_ok=True)
    options = f"size={size_kib}k" + (",ro" if read_only else "")
    result = run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", path])
    if result.returncode != 0:
        sys.exit(f"cannot mount a tmpfs at {path} (needs root): {result.stderr.strip()}")


def umount(path):
    run(["umount", path])


def metrics(run_dir):
    with open(os.path.join(run_dir, "report.json")) as f:
        report = json.load(f)
    return report["sft"]["metrics"], report["rl"]["metrics"], report["rl_vs_sft"]


def leftovers(run_dir):
    return [os.path.join(d, f) for d, dirs, files in os.walk(run_dir) for f in files + dirs
            if ".tmp" in f or f.startswith(".tmp")]


def main(binary, sizes):
    work = tempfile.mkdtemp(prefix="latentr3-faults-")
    config = os.path.join(work, "tiny.toml")
    with open(config, "w") as f:
        f.write(CONFIG)
    whole = os.path.join(work, "whole")
    if run([binary, "train", "--config", config, "--out", whole]).returncode != 0:
        sys.exit("the uninterrupted run failed")
    rows, failures = [], []

    # Read-only: a new run, then the resumption of a run whose disk became read-only.
    read_only = os.path.join(work, "ro")
    mount(read_only, 1024, read_only=True)
    result = run([binary, "train", "--config", config, "--out", os.path.join(read_only, "run")])
    umount(read_only)
    named = os.path.join(read_only, "run") in result.stderr
    ok = result.returncode != 0 and named and "epoch" not in result.stderr
    rows.append({"fault": "read-only --out", "exit": result.returncode, "ok": ok,
                 "message": result.stderr.strip().splitlines()[-1]})
    mount(read_only, 4096)
    partial = os.path.join(read_only, "run")
    run([binary, "train", "--config", config, "--out", partial, "--stop-after", "1"])
    run(["mount", "-o", "remount,ro", read_only])
    result = run([binary, "train", "--resume", partial])
    ok = result.returncode != 0 and partial in result.stderr and "epoch" not in result.stderr
    rows.append({"fault": "read-only --resume", "exit": result.returncode, "ok": ok,
                 "message": result.stderr.strip().splitlines()[-1]})
    umount(read_only)

    # Full disks of several sizes.
    for size in sizes:
        disk = os.path.join(work, f"disk-{size}k")
        mount(disk, size)
        run_dir = os.path.join(disk, "run")
        result = run([binary, "train", "--config", config, "--out", run_dir])
        row = {"fault": f"disk of {size} KiB", "exit": result.returncode}
        if result.returncode == 0:
            row["ok"] = metrics(run_dir) == metrics(whole)
            row["message"] = "fits: finished"
        else:
            message = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
            row["message"] = message
            left = leftovers(run_dir)
            named = bool(re.search(re.escape(disk) + r"/\S+", result.stderr))
            panicked = "panicked" in result.stderr
            # Room again: the run continues from what it had written.
            run(["mount", "-o", "remount,size=8192k", disk])
            if os.path.exists(os.path.join(run_dir, "config.toml")):
                resumed = run([binary, "train", "--resume", run_dir])
            else:
                resumed = run([binary, "train", "--config", config, "--out", run_dir])
            same = resumed.returncode == 0 and metrics(run_dir) == metrics(whole)
            row.update({"named": named, "panicked": panicked, "leftovers": left,
                        "resumed_to_same_report": same})
            row["ok"] = named and not panicked and not left and same
        umount(disk)
        rows.append(row)
        if not row["ok"]:
            failures.append(row)
    for row in rows:
        print(json.dumps(row))
    shutil.rmtree(work, ignore_errors=True)
    if failures or not all(r["ok"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[2:]] or [16, 48, 96, 160, 224, 288, 352]
    main(sys.argv[1], sizes)
