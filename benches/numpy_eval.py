"""The numpy peer of latentr3's evaluator, under the same ranking rule: NaN scores count as -inf,
items the user has seen leave the candidates (never the target), rank = 1 + the other candidates
scoring at least the target, top-K lists by score then ascending id without NaN or -inf items.

    python3 benches/numpy_eval.py [users items]       # benchmark (crates/eval/benches/full_ranking.rs's
                                                     # shape): seeded random scores, one JSON line
    python3 benches/numpy_eval.py write DIR [users items]   # a score file with ties, NaN, -inf and
                                                     # long histories (the score_file example's format)
    python3 benches/numpy_eval.py compare DIR RUST.json     # numpy's metrics on DIR against the
                                                     # Rust evaluator's report; exit 1 past 1e-9
"""
import json
import resource
import sys
import time

import numpy as np


def mix(z):
    z = z.astype(np.uint64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class Sums:
    """Per-K sums over batches of cases."""

    def __init__(self, items, k):
        self.k, self.cases, self.listed = k, 0, 0
        self.hits = self.ndcg = self.mrr = self.arp = self.aplt = self.nov = 0.0
        self.head = [0, 0.0, 0.0]  # cases, hits, ndcg
        self.tail = [0, 0.0, 0.0]
        self.exposure = np.zeros(items + 1, dtype=np.int64)

    def add(self, scores, seen_rows, seen_cols, targets, mask, counts, is_tail, novelty):
        """One batch: `scores` [rows, items + 1] (overwritten), seen pairs (row, item)."""
        k, rows = self.k, len(targets)
        r = np.arange(rows)
        scores[np.isnan(scores)] = -np.inf
        excluded = np.zeros(scores.shape, dtype=bool)
        excluded[:, 0] = True
        if mask:
            excluded[seen_rows, seen_cols] = True
            excluded[r, targets] = False
        t = scores[r, targets]
        rank = ((scores >= t[:, None]) & ~excluded).sum(axis=1)  # counts the target itself
        hit = rank <= k
        gain = np.where(hit, 1.0 / np.log2(rank + 1), 0.0)
        self.cases += rows
        self.hits += hit.sum()
        self.ndcg += gain.sum()
        self.mrr += np.where(hit, 1.0 / rank, 0.0).sum()
        tail = is_tail[targets]
        for part, where in ((self.tail, tail), (self.head, ~tail)):
            part[0] += where.sum()
            part[1] += hit[where].sum()
            part[2] += gain[where].sum()
        # Top K with ties by ascending id: everything above the K-th best value, then the
        # lowest ids at that value; NaN (excluded) and -inf items are never listed.
        listable = ~excluded & (scores > -np.inf)
        key = np.where(listable, scores, -np.inf)
        kth = -np.partition(-key, k - 1, axis=1)[:, k - 1]
        above = listable & (key > kth[:, None])
        at = listable & (key == kth[:, None])
        room = k - above.sum(axis=1)
        chosen = above | (at & (np.cumsum(at, axis=1) <= room[:, None]))
        sizes = chosen.sum(axis=1)
        rows_of, items_of = np.nonzero(chosen)
        self.exposure += np.bincount(items_of, minlength=len(self.exposure))
        per_list = np.bincount(rows_of, weights=counts[items_of], minlength=rows)
        nonempty = sizes > 0
        self.arp += (per_list[nonempty] / sizes[nonempty]).sum()
        self.aplt += is_tail[items_of].sum() / k
        self.nov += novelty[items_of].sum()
        self.listed += int(sizes.sum())

    def metrics(self):
        k, c, n = self.k, self.cases, len(self.exposure) - 1
        x = np.sort(self.exposure[1:])
        j = np.arange(1, n + 1)
        total = x.sum()
        gini = ((2 * j - n - 1) * x).sum() / (n * total) if total else 0.0
        p = x[x > 0] / (c * k)
        entropy = float(-(p * np.log(p)).sum())
        out = {"HR": self.hits / c, "NDCG": self.ndcg / c, "MRR": self.mrr / c,
               "ItemCoverage": (x > 0).sum() / n, "Gini": gini, "Entropy": entropy,
               "EntropyNorm": entropy / np.log(n), "ARP": self.arp / c, "APLT": self.aplt / c}
        for name, part in (("Head", self.head), ("Tail", self.tail)):
            if part[0]:
                out[name + "HR"], out[name + "NDCG"] = part[1] / part[0], part[2] / part[0]
        if self.listed:
            out["Novelty"] = self.nov / self.listed
        return {f"{name}@{k}": float(v) for name, v in out.items()}


def catalogue(items, users):
    counts = np.concatenate([[0], 1_000_000 // np.arange(1, items + 1, dtype=np.int64)])
    order = np.argsort(-counts[1:], kind="stable") + 1
    cumulative = np.cumsum(counts[order])
    head = np.zeros(items + 1, dtype=bool)
    head[order[np.concatenate([[0], cumulative[:-1]]) < 0.8 * cumulative[-1]]] = True
    is_tail = ~head
    is_tail[0] = False
    return counts, is_tail


def benchmark(users, items, k=10, history=50, batch=256):
    counts, is_tail = catalogue(items, users)
    novelty = -np.log2((counts + 1) / (users + 1))
    with np.errstate(over="ignore"):
        histories = (mix(np.arange(1, users * history + 1, dtype=np.uint64)) % np.uint64(items)).astype(np.int64) + 1
        targets = (mix(np.arange(users, dtype=np.uint64) ^ np.uint64(0xDEADBEEF)) % np.uint64(items)).astype(np.int64) + 1
    histories = histories.reshape(users, history)
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    sums = Sums(items, k)
    for start in range(0, users, batch):
        stop = min(start + batch, users)
        rows = stop - start
        scores = rng.random((rows, items + 1), dtype=np.float32)
        seen_rows = np.repeat(np.arange(rows), history)
        sums.add(scores, seen_rows, histories[start:stop].ravel(), targets[start:stop], True,
                 counts, is_tail, novelty)
    m = sums.metrics()
    seconds = time.perf_counter() - started
    print(json.dumps({
        "impl": "numpy " + np.__version__,
        "users": users,
        "items": items,
        "seconds": round(seconds, 3),
        "users_per_s": round(users / seconds),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "HR@10": round(m["HR@10"], 5),
        "NDCG@10": round(m["NDCG@10"], 5),
        "ItemCoverage@10": round(m["ItemCoverage@10"], 4),
    }))


def write(out, users=3000, items=2000):
    """Scores with ties (a few hundred distinct values), NaN, -inf and +inf; seen lists of 0 to
    300 items with repeats, sometimes holding the target."""
    import os
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(5)
    counts, is_tail = catalogue(items, users)
    scores = (rng.integers(0, 300, (users, items + 1)) / 300).astype(np.float32)
    special = rng.random((users, items + 1))
    scores[special < 0.01] = np.nan
    scores[(special >= 0.01) & (special < 0.02)] = -np.inf
    scores[(special >= 0.02) & (special < 0.021)] = np.inf
    targets = rng.integers(1, items + 1, users)
    cases = []
    for u in range(users):
        seen = rng.integers(1, items + 1, rng.integers(0, 300)).tolist()
        if rng.random() < 0.1:
            seen.append(int(targets[u]))
        cases.append({"seen": seen, "target": int(targets[u])})
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump({"ks": [1, 10, 20], "mask_history": True, "counts": counts.tolist(),
                   "is_tail": is_tail.tolist(), "train_users": users, "cases": cases}, f)
    scores.astype("<f4").tofile(os.path.join(out, "scores.f32"))


def compare(directory, rust_report):
    import os
    with open(os.path.join(directory, "cases.json")) as f:
        spec = json.load(f)
    counts = np.array(spec["counts"], dtype=np.int64)
    is_tail = np.array(spec["is_tail"], dtype=bool)
    items = len(counts) - 1
    scores = np.fromfile(os.path.join(directory, "scores.f32"), dtype="<f4").reshape(-1, items + 1)
    novelty = -np.log2((counts + 1) / (spec["train_users"] + 1))
    ours = {}
    for k in spec["ks"]:
        sums = Sums(items, k)
        for start in range(0, len(spec["cases"]), 256):
            batch = spec["cases"][start:start + 256]
            seen_rows = np.concatenate([[r] * len(c["seen"]) for r, c in enumerate(batch)] + [[]]).astype(np.int64)
            seen_cols = np.concatenate([c["seen"] for c in batch] + [[]]).astype(np.int64)
            targets = np.array([c["target"] for c in batch], dtype=np.int64)
            sums.add(scores[start:start + len(batch)].copy(), seen_rows, seen_cols, targets,
                     spec["mask_history"], counts, is_tail, novelty)
        ours.update(sums.metrics())
    with open(rust_report) as f:
        theirs = json.load(f)["metrics"]
    bad = [f"{name}: numpy {ours.get(name)} vs latentr3 {theirs.get(name)}"
           for name in sorted(set(ours) | set(theirs))
           if name not in ours or name not in theirs
           or abs(ours[name] - theirs[name]) > 1e-9 * max(1.0, abs(ours[name]))]
    print(f"numpy vs latentr3 on {len(spec['cases'])} cases x {items} items: "
          f"{len(ours)} metrics, {len(bad)} differ beyond 1e-9")
    for line in bad:
        print("  " + line)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "write":
        write(args[1], *[int(a) for a in args[2:]])
    elif args and args[0] == "compare":
        compare(args[1], args[2])
    else:
        benchmark(*([int(a) for a in args] or [138_493, 26_744]))
