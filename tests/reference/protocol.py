"""An independent implementation of latentr3's evaluation protocol, written from the documented
rules rather than from the Rust code: loading a ratings file, de-duplication, chronological
sequences, the leave-one-out and temporal splits, training popularity and the head/tail
partition, the most-popular and seeded-random baselines, history masking over the user's whole
prefix, ranks with ties against the target, and every reported metric.

    python3 tests/reference/protocol.py FILE [--split leave-one-out|temporal] [--baseline pop|random]
        [--no-mask] [--no-dedup] [--ks 5,10,20] [--valid]

Prints the report's metrics as JSON. Standard library only; brute force (every candidate of
every case is compared with the target), so keep the files small (a few hundred users).
`tests/reference/check.sh` compares it with `latentr3 eval --baseline ... --json`.
"""
import argparse
import csv
import json
import math

M64 = (1 << 64) - 1


def read(path):
    """(user, item, timestamp) rows in file order: RecBole `.inter` (typed header), `u.data`
    (tab, no header) or a `userId,movieId,rating,timestamp` CSV."""
    with open(path, newline="") as f:
        if path.endswith(".csv"):
            rows = list(csv.reader(f))[1:]
        else:
            rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
            if path.endswith(".inter"):
                rows = rows[1:]
    return [(r[0], r[1], int(float(r[3]))) for r in rows]


def sequences(rows, dedup):
    users, items = {}, {}
    for u, i, _ in rows:  # dense ids in order of first appearance; item 0 is padding
        users.setdefault(u, len(users))
        items.setdefault(i, len(items) + 1)
    per_user = [[] for _ in users]
    for order, (u, i, t) in enumerate(rows):
        per_user[users[u]].append((t, order, items[i]))
    seqs = []
    for events in per_user:
        events.sort()  # by time, equal times in file order
        seen, seq = set(), []
        for t, _, i in events:
            if dedup and i in seen:
                continue
            seen.add(i)
            seq.append((i, t))
        seqs.append(seq)
    return seqs, len(items)


def split(seqs, kind, train_fraction=0.8, valid_fraction=0.1):
    """(train, valid, test) lists of (user, position): position p's item is the target, the
    user's items before p are what the user has already seen."""
    train, valid, test = [], [], []
    if kind == "leave-one-out":
        for u, s in enumerate(seqs):
            n = len(s)
            train += [(u, p) for p in range(1, n - 2 if n >= 3 else n)]
            if n >= 3:
                valid.append((u, n - 2))
                test.append((u, n - 1))
    else:
        samples = sorted((s[p][1], u, p) for u, s in enumerate(seqs) for p in range(1, len(s)))
        # Cut points round half up (Python's round() would round half to even).
        a = math.floor(len(samples) * train_fraction + 0.5)
        b = math.floor(len(samples) * (train_fraction + valid_fraction) + 0.5)
        train = [(u, p) for _, u, p in samples[:a]]
        valid = [(u, p) for _, u, p in samples[a:b]]
        test = [(u, p) for _, u, p in samples[b:]]
    return train, valid, test


def popularity(seqs, n, kind, train, valid, test):
    """Training counts. Leave-one-out: every interaction but the validation and test targets.
    Temporal: each user's items up to their last training target (none without one). The head
    is the most popular items holding 80% of the counted interactions."""
    if kind == "leave-one-out":
        held = set(valid + test)
        parts = [[i for p, (i, _) in enumerate(s) if (u, p) not in held] for u, s in enumerate(seqs)]
    else:
        last = {}
        for u, p in train:
            last[u] = max(p, last.get(u, 0))
        parts = [[i for i, _ in s[: last[u] + 1]] if u in last else [] for u, s in enumerate(seqs)]
    counts = [0] * (n + 1)
    for part in parts:
        for i in part:
            counts[i] += 1
    total, held_share, head = sum(counts), 0, set()
    for i in sorted(range(1, n + 1), key=lambda i: (-counts[i], i)):
        if held_share >= 0.8 * total:
            break
        head.add(i)
        held_share += counts[i]
    return counts, head, sum(1 for part in parts if part)


def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def random_scores(user, n, seed=0):
    key = mix(seed ^ (((user << 32) + 0x9E3779B97F4A7C15) & M64))
    return [(mix(key ^ i) >> 40) / float(1 << 24) for i in range(n + 1)]


def evaluate(seqs, n, cases, scores_of, counts, head, train_users, ks, mask):
    out = {}
    for k in ks:
        hr = nd = rr = hh = hn = th = tn = arp = aplt = nov = 0.0
        heads = tails = listed = 0
        exposure = [0] * (n + 1)
        for u, p in cases:
            target, scores = seqs[u][p][0], scores_of(u)
            seen = {i for i, _ in seqs[u][:p]} - {target} if mask else set()
            candidates = [i for i in range(1, n + 1) if i not in seen]
            rank = 1 + sum(1 for i in candidates if i != target and scores[i] >= scores[target])
            hit = rank <= k
            gain = 1 / math.log2(rank + 1) if hit else 0.0
            hr, nd, rr = hr + hit, nd + gain, rr + (1 / rank if hit else 0.0)
            if target in head:
                heads, hh, hn = heads + 1, hh + hit, hn + gain
            else:
                tails, th, tn = tails + 1, th + hit, tn + gain
            top = sorted(candidates, key=lambda i: (-scores[i], i))[:k]
            for i in top:
                exposure[i] += 1
                nov += -math.log2((counts[i] + 1) / (train_users + 1))
            arp += sum(counts[i] for i in top) / len(top)
            aplt += sum(1 for i in top if i not in head) / k
            listed += len(top)
        c = len(cases)
        x = sorted(exposure[1:])
        gini = sum((2 * j - n - 1) * v for j, v in enumerate(x, 1)) / (n * sum(x))
        entropy = -sum(v / (c * k) * math.log(v / (c * k)) for v in x if v)
        put = {"HR": hr / c, "NDCG": nd / c, "MRR": rr / c, "ItemCoverage": sum(v > 0 for v in x) / n,
               "Gini": gini, "Entropy": entropy, "EntropyNorm": entropy / math.log(n),
               "ARP": arp / c, "APLT": aplt / c, "Novelty": nov / listed}
        if heads:
            put.update(HeadHR=hh / heads, HeadNDCG=hn / heads)
        if tails:
            put.update(TailHR=th / tails, TailNDCG=tn / tails)
        out.update({f"{name}@{k}": value for name, value in put.items()})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--split", default="leave-one-out")
    ap.add_argument("--baseline", default="pop")
    ap.add_argument("--no-mask", action="store_true")
    ap.add_argument("--no-dedup", action="store_true")
    ap.add_argument("--valid", action="store_true")
    ap.add_argument("--ks", default="5,10,20")
    a = ap.parse_args()
    seqs, n = sequences(read(a.file), not a.no_dedup)
    train, valid, test = split(seqs, a.split)
    counts, head, train_users = popularity(seqs, n, a.split, train, valid, test)
    if a.baseline == "pop":
        scores_of = lambda u: [float(c) for c in counts]  # noqa: E731
    else:
        scores_of = lambda u: random_scores(u, n)  # noqa: E731
    ks = [int(k) for k in a.ks.split(",")]
    metrics = evaluate(seqs, n, valid if a.valid else test, scores_of, counts, head, train_users,
                       ks, not a.no_mask)
    print(json.dumps({"cases": len(valid if a.valid else test), "metrics": metrics}, indent=1))


if __name__ == "__main__":
    main()
