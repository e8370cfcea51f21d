"""Writes a small ratings file shaped like real data, for the protocol checks: power-law item
popularity, users from 1 to 150 interactions (so 1-, 2- and 3-item users exist and many are
longer than any model input), coarse timestamps (many equal, also across the temporal split's
cut points), repeated items, and users listed in no particular order.

    python3 tests/reference/generate.py OUT.csv [users] [items] [seed]
"""
import random
import sys


def main(out, users=400, items=300, seed=1):
    rng = random.Random(seed)
    weights = [1 / (i + 1) ** 0.9 for i in range(items)]
    ids = list(range(1, items + 1))
    rng.shuffle(ids)  # item ids not in popularity order
    rows = []
    for user in range(1, users + 1):
        length = rng.choice([1, 2, 3]) if rng.random() < 0.1 else int(rng.paretovariate(1.2) * 8)
        length = min(length, 150)
        time = rng.randrange(0, 50) * 1000
        for _ in range(length):
            item = ids[rng.choices(range(items), weights)[0]]
            time += rng.choice([0, 0, 1000, 5000])  # equal timestamps are common
            rows.append((user * 7919 % 100003, item, rng.randint(1, 5), time))
    rng.shuffle(rows)  # file order is not chronological; ties keep this order
    with open(out, "w") as f:
        f.write("userId,movieId,rating,timestamp\n")
        for r in rows:
            f.write("%d,%d,%d.0,%d\n" % r)


if __name__ == "__main__":
    main(sys.argv[1], *[int(a) for a in sys.argv[2:]])
