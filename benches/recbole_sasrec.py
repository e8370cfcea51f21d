"""RecBole 1.2.1's SASRec (or GRU4Rec) on ml-100k with its sequential benchmark settings, for
comparison with `latentr3 train --config experiments/ml-100k.toml --set model.mode=backbone`
(GRU4Rec: `--config experiments/ml-100k-gru4rec.toml`).

Settings: leave-one-out by time (LS valid_and_test, order TO), full ranking, no history masking
(RecBole's default for sequential models), max length 50, hidden 64, 2 layers, 2 heads, inner
size 256, dropout 0.2, lr 1e-3, batch 256, CE loss, seed 2020, early stopping on valid NDCG@10.
Nothing in RecBole is patched; this harness only records the wall time at which each
validation finished. Environment: `pip install torch==2.15.0 recbole==1.2.1 numpy==1.26.4
pandas==2.2.3 "setuptools<70"` (RecBole's pinned ray needs numpy 1 and pkg_resources).
Run with OMP_WAIT_POLICY=PASSIVE (PyTorch's OpenMP threads otherwise spin while waiting and
run several times slower on a busy 2-core machine):

    OMP_WAIT_POLICY=PASSIVE python benches/recbole_sasrec.py data [epochs] [seed] [SASRec|GRU4Rec]

GRU4Rec uses RecBole's own GRU4Rec defaults (embedding 64, GRU state 128, one layer, dropout
0.3), with the same data, split, loss, learning rate, batch and early stopping as SASRec.

Prints one JSON line per validation and a final JSON line with the test result."""
import json
import os
import sys
import time

# RecBole 1.2.1 reloads its best checkpoint with torch.load; torch >= 2.6 defaults to
# weights_only=True, which rejects RecBole's checkpoint. This restores the old default without
# touching RecBole.
os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

import torch
from recbole.quick_start import run_recbole
from recbole.trainer import trainer as recbole_trainer

STARTED = time.perf_counter()
original_valid_epoch = recbole_trainer.Trainer._valid_epoch


def timed_valid_epoch(self, *args, **kwargs):
    score, result = original_valid_epoch(self, *args, **kwargs)
    print(json.dumps({"event": "valid", "elapsed_s": round(time.perf_counter() - STARTED, 1),
                      "valid": {k: float(v) for k, v in result.items()}}), flush=True)
    return score, result


recbole_trainer.Trainer._valid_epoch = timed_valid_epoch


GRU4REC = {
    "embedding_size": 64,
    "hidden_size": 128,
    "num_layers": 1,
    "dropout_prob": 0.3,
}


def main(data_path, epochs=200, seed=2020, model="SASRec"):
    config = {
        "data_path": data_path,
        "load_col": {"inter": ["user_id", "item_id", "rating", "timestamp"]},
        "MAX_ITEM_LIST_LENGTH": 50,
        "hidden_size": 64,
        "n_layers": 2,
        "n_heads": 2,
        "inner_size": 256,
        "hidden_dropout_prob": 0.2,
        "attn_dropout_prob": 0.2,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-12,
        "initializer_range": 0.02,
        "loss_type": "CE",
        "train_neg_sample_args": None,
        "learning_rate": 0.001,
        "train_batch_size": 256,
        "epochs": epochs,
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"},
        "metrics": ["Hit", "NDCG", "MRR"],
        "topk": [10, 20],
        "valid_metric": "NDCG@10",
        "eval_batch_size": 4096,
        "seed": seed,
        "reproducibility": True,
        "use_gpu": False,
        "show_progress": False,
        "save_dataset": False,
        "save_dataloaders": False,
        "checkpoint_dir": "/tmp/recbole-saved",
    }
    if model == "GRU4Rec":
        config.update(GRU4REC)
    elif model != "SASRec":
        sys.exit(f"model must be SASRec or GRU4Rec, not {model}")
    result = run_recbole(model=model, dataset="ml-100k", config_dict=config)
    print(json.dumps({
        "event": "done",
        "model": model,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "elapsed_s": round(time.perf_counter() - STARTED, 1),
        "best_valid": {k: float(v) for k, v in result["best_valid_result"].items()},
        "test": {k: float(v) for k, v in result["test_result"].items()},
    }), flush=True)


if __name__ == "__main__":
    data = os.path.abspath(sys.argv[1])
    # RecBole writes log/ and log_tensorboard/ into the working directory: keep them out of the tree.
    os.makedirs("/tmp/recbole-work", exist_ok=True)
    os.chdir("/tmp/recbole-work")
    main(data, int(sys.argv[2]) if len(sys.argv) > 2 else 200,
         int(sys.argv[3]) if len(sys.argv) > 3 else 2020,
         sys.argv[4] if len(sys.argv) > 4 else "SASRec")
