"""The pandas peer of crates/data/benches/pipeline.rs: the same load + dedup + iterative 5-core +
chronological sequences + leave-one-out split, written the vectorised way a pandas user would.
Prints one JSON line."""
import json
import os
import resource
import sys
import time

import numpy as np
import pandas as pd


def main(path):
    started = time.perf_counter()
    df = pd.read_csv(
        path,
        dtype={"userId": np.int64, "movieId": np.int64, "rating": np.float32, "timestamp": np.int64},
    )
    raw_rows = len(df)
    # Chronological per user (stable: ties keep file order), first interaction per (user, item).
    df = df.sort_values(["userId", "timestamp"], kind="stable")
    df = df.drop_duplicates(["userId", "movieId"], keep="first")
    # Iterative 5-core.
    while True:
        user_counts = df["userId"].map(df["userId"].value_counts())
        item_counts = df["movieId"].map(df["movieId"].value_counts())
        keep = (user_counts >= 5) & (item_counts >= 5)
        if keep.all():
            break
        df = df[keep]
    # Dense ids (items from 1, 0 = padding), in order of first appearance.
    df["item"] = pd.factorize(df["movieId"])[0] + 1
    df["user"] = pd.factorize(df["userId"])[0]
    # Leave-one-out: last item test, second-last validation.
    position = df.groupby("user").cumcount().to_numpy()
    length = df.groupby("user")["item"].transform("size").to_numpy()
    test = df[position == length - 1]
    valid = df[(position == length - 2) & (length >= 3)]
    train = df[position < length - 2]
    # Training samples (targets): positions from 1 up to the validation target; users with
    # fewer than 3 items are never evaluated and train on all of theirs.
    train_samples = (position >= 1) & (position < np.where(length >= 3, length - 2, length))
    # Sequences as arrays per user (what a batcher reads).
    offsets = np.concatenate([[0], np.cumsum(df.groupby("user", sort=True).size().to_numpy())])
    items = df["item"].to_numpy()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({
        "impl": "pandas " + pd.__version__,
        "rows": raw_rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(raw_rows / seconds),
        "peak_rss_bytes": peak,
        "file_bytes": os.path.getsize(path),
        "users": int(df["user"].nunique()),
        "items": int(items.max()),
        "interactions": int(len(items)),
        "test": int(len(test)),
        "offsets": int(len(offsets) - 1),
        "valid": int(len(valid)),
        "train": int(len(train)),
        "train_samples": int(train_samples.sum()),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
