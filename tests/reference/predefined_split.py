"""An independent reading of a D3-style predefined split (train/valid/test CSVs), to compare
with `latentr3 data stats` on the same files: users, items, interactions (each user's first
history plus every target) and samples per part, with pandas.

    python3 tests/reference/predefined_split.py data/r3-cds/test/CDs_and_Vinyl_5_2015-10-2018-11.csv
"""
import ast
import os
import sys

import pandas as pd

path = sys.argv[1]
root, name = os.path.dirname(os.path.dirname(path)), os.path.basename(path)
sequences, counts = {}, {}
for part in ["train", "valid", "test"]:
    file = os.path.join(root, part, name)
    if not os.path.exists(file):
        counts[part] = 0
        continue
    frame = pd.read_csv(file, dtype=str)
    counts[part] = len(frame)
    for user, history, item in zip(frame.user_id, frame.history_item_id, frame.item_id):
        history = [str(i) for i in ast.literal_eval(history)]
        sequence = sequences.setdefault(user, list(history))
        tail = sequence[len(sequence) - len(history):] if history else []
        assert tail == history, f"{file}: user {user}'s history does not continue its sequence"
        sequence.append(str(item))
items = {i for s in sequences.values() for i in s}
print(f"users {len(sequences)}")
print(f"items {len(items)}")
print(f"interactions {sum(len(s) for s in sequences.values())}")
print(f"targets train {counts['train']} valid {counts['valid']} test {counts['test']}")
print(f"context {sum(len(s) for s in sequences.values()) - sum(counts.values())}")
