"""Per-user test ranks of a trained RecBole model, for `latentr3 eval --compare-ranks`.

    python benches/recbole_ranks.py /tmp/recbole-saved/SASRec-<time>.pth out.json ["label"]

Loads the checkpoint RecBole saved (its best validation epoch) with RecBole's own
`load_data_and_model`, scores every item for each test user as RecBole's full-sort evaluation
does (padding item excluded, no history masking for sequential models), and writes the rank of
each user's target with latentr3's tie rule (1 + the number of other items scoring at least as
high as the target), and the protocol they were computed under. Also prints NDCG@10 and HR@10 from these ranks, to check
them against the test result RecBole printed for the same run."""
import json
import math
import os
import sys

os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

import torch
from recbole.quick_start import load_data_and_model


def main(model_file, out, label):
    os.makedirs("/tmp/recbole-work", exist_ok=True)
    os.chdir("/tmp/recbole-work")
    config, model, dataset, _, _, test_data = load_data_and_model(model_file)
    model.eval()
    users, items = dataset.uid_field, dataset.iid_field
    ranks = []
    with torch.no_grad():
        for interaction, _, _, positive_i in test_data:
            scores = model.full_sort_predict(interaction).view(len(positive_i), -1)
            scores[:, 0] = -math.inf
            target_scores = scores.gather(1, positive_i.view(-1, 1))
            at_least = (scores >= target_scores).sum(dim=1)  # includes the target itself
            for user, target, rank in zip(interaction[users].tolist(), positive_i.tolist(),
                                          at_least.tolist()):
                ranks.append({"user": dataset.id2token(users, user),
                              "target": dataset.id2token(items, target), "rank": int(rank)})
    ndcg = sum(1 / math.log2(r["rank"] + 1) for r in ranks if r["rank"] <= 10) / len(ranks)
    hit = sum(r["rank"] <= 10 for r in ranks) / len(ranks)
    print(json.dumps({"users": len(ranks), "ndcg@10": round(ndcg, 4), "hit@10": round(hit, 4)}))
    with open(out, "w") as f:
        # RecBole's sequential full-sort protocol: leave-one-out, nothing masked, every item.
        protocol = {"split": "leave-one-out", "mask_history": False, "items": dataset.item_num - 1}
        json.dump({"system": label, "protocol": protocol, "ranks": ranks}, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2],
         sys.argv[3] if len(sys.argv) > 3 else "RecBole 1.2.1 SASRec")
