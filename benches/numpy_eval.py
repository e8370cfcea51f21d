"""The numpy peer of crates/eval/benches/full_ranking.rs: the same cases (50-item histories
masked, the same targets), seeded uniform random scores, and the same K=10 metrics (HR, NDCG,
MRR, head/tail HR and NDCG, coverage, Gini, entropy, ARP, APLT, novelty) with np.argpartition.
Prints one JSON line."""
import json
import resource
import sys
import time

import numpy as np

MASK64 = (1 << 64) - 1


def mix(z):
    z = z.astype(np.uint64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def main(users, items, k=10, history=50, batch=256):
    counts = np.concatenate([[0], 1_000_000 // np.arange(1, items + 1, dtype=np.int64)])
    order = np.argsort(-counts[1:], kind="stable") + 1
    cumulative = np.cumsum(counts[order])
    head = np.zeros(items + 1, dtype=bool)
    head[order[np.concatenate([[0], cumulative[:-1]]) < 0.8 * cumulative[-1]]] = True
    is_tail = ~head
    is_tail[0] = False
    novelty = -np.log2((counts + 1) / (users + 1))
    with np.errstate(over="ignore"):
        histories = (mix(np.arange(1, users * history + 1, dtype=np.uint64)) % np.uint64(items)).astype(np.int64) + 1
        targets = (mix(np.arange(users, dtype=np.uint64) ^ np.uint64(0xDEADBEEF)) % np.uint64(items)).astype(np.int64) + 1
    histories = histories.reshape(users, history)
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    hits = ndcg = mrr = 0.0
    tail_hits = tail_ndcg = head_hits = head_ndcg = 0.0
    exposure = np.zeros(items + 1, dtype=np.int64)
    arp = aplt = nov = 0.0
    for start in range(0, users, batch):
        stop = min(start + batch, users)
        rows = stop - start
        scores = rng.random((rows, items + 1), dtype=np.float32)
        scores[:, 0] = -np.inf
        hist = histories[start:stop]
        tgt = targets[start:stop]
        r = np.arange(rows)[:, None]
        keep = scores[np.arange(rows), tgt].copy()
        scores[r, hist] = -np.inf
        scores[np.arange(rows), tgt] = keep
        rank = (scores[:, 1:] >= keep[:, None]).sum(axis=1)
        hit = rank <= k
        gain = np.where(hit, 1.0 / np.log2(rank + 1), 0.0)
        hits += hit.sum()
        ndcg += gain.sum()
        mrr += np.where(hit, 1.0 / rank, 0.0).sum()
        tail = is_tail[tgt]
        tail_hits += hit[tail].sum()
        tail_ndcg += gain[tail].sum()
        head_hits += hit[~tail].sum()
        head_ndcg += gain[~tail].sum()
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1), axis=1)
        exposure += np.bincount(top.ravel(), minlength=items + 1)
        arp += counts[top].mean(axis=1).sum()
        aplt += (is_tail[top].sum(axis=1) / k).sum()
        nov += novelty[top].sum()
    x = np.sort(exposure[1:])
    n = items
    j = np.arange(1, n + 1)
    gini = ((2 * j - n - 1) * x).sum() / (n * x.sum())
    p = x[x > 0] / (users * k)
    entropy = -(p * np.log(p)).sum()
    coverage = (x > 0).sum() / n
    seconds = time.perf_counter() - started
    print(json.dumps({
        "impl": "numpy " + np.__version__,
        "users": users,
        "items": items,
        "seconds": round(seconds, 3),
        "users_per_s": round(users / seconds),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "HR@10": round(hits / users, 5),
        "NDCG@10": round(ndcg / users, 5),
        "ItemCoverage@10": round(float(coverage), 4),
        "Gini@10": round(float(gini), 4),
        "Entropy@10": round(float(entropy), 4),
        "APLT@10": round(aplt / users, 4),
    }))


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*(args or [138_493, 26_744]))
