"""Checks latentr3's encoders against RecBole 1.2.1 on identical weights: SASRec through
RecBole's own layers, GRU4Rec through its forward pass.

    cargo run -p latentr3-model --example recbole_parity -- /tmp/parity.json
    python benches/recbole_parity.py /tmp/parity.json

Loads the parameters the example wrote into RecBole's `TransformerEncoder` plus the embedding,
LayerNorm and tied output of RecBole's `SASRec.forward` (written out below as RecBole writes
it, dropout 0), runs the same histories, and prints the largest differences of the last hidden
state, the scores, the cross-entropy and its gradient for the item embeddings. GRU4Rec: a
`torch.nn.GRU` without biases, the dense layer and the gather at each sequence's last item,
as RecBole's `GRU4Rec.forward` writes them, on right-padded copies of our left-padded
histories of 50, 17, 3 and 1 items. Exits non-zero when any difference is above 1e-4 (relative
to the largest magnitude)."""
import json
import sys

import torch
from recbole.model.layers import TransformerEncoder


def compare(name, theirs, ours):
    ours = torch.tensor(ours, dtype=torch.float32).reshape(theirs.shape)
    difference = (theirs.detach() - ours).abs().max().item()
    scale = max(theirs.detach().abs().max().item(), 1e-12)
    print(f"{name:15s} max |RecBole - latentr3| = {difference:.3g} (largest |value| {scale:.3g})")
    return difference / scale


def outputs(dump, hidden, item_embedding):
    """Scores, loss and item gradient from the last hidden state; the worst relative gap."""
    scores = hidden @ item_embedding.weight.T
    loss = torch.nn.functional.cross_entropy(scores, torch.tensor(dump["targets"]))
    loss.backward()
    return max(compare("hidden", hidden, dump["hidden"]),
               compare("scores", scores, dump["scores"]),
               compare("loss", loss.reshape(1), [dump["loss"]]),
               compare("item gradient", item_embedding.weight.grad, dump["item_gradient"]))


def gru4rec(dump):
    params = dump["params"]

    def tensor(name):
        entry = params[name]
        return torch.tensor(entry["data"], dtype=torch.float32).reshape(entry["shape"])

    hidden_size, state_size, max_len = dump["hidden_size"], dump["state_size"], dump["max_len"]
    items = tensor("backbone.items.weight").shape[0]
    item_embedding = torch.nn.Embedding(items, hidden_size)
    gru = torch.nn.GRU(hidden_size, state_size, num_layers=1, bias=False, batch_first=True)
    dense = torch.nn.Linear(state_size, hidden_size)
    with torch.no_grad():
        item_embedding.weight.copy_(tensor("backbone.items.weight"))
        # burn stores a Linear's weight as [in, out], torch as [out, in]; gates r, z, n in both.
        gru.weight_ih_l0.copy_(tensor("backbone.layers.0.input.weight").T)
        gru.weight_hh_l0.copy_(tensor("backbone.layers.0.recurrent.weight").T)
        dense.weight.copy_(tensor("backbone.dense.weight").T)
        dense.bias.copy_(tensor("backbone.dense.bias"))
    left = torch.tensor(dump["ids"]).reshape(-1, max_len)
    lengths = torch.tensor(dump["lengths"])
    # RecBole pads on the right: the same items, moved to the front.
    item_seq = torch.zeros_like(left)
    for row, length in enumerate(dump["lengths"]):
        item_seq[row, :length] = left[row, max_len - length:]
    # RecBole 1.2.1 GRU4Rec.forward, unchanged but for dropout 0.
    gru_output, _ = gru(item_embedding(item_seq))
    gru_output = dense(gru_output)
    hidden = gru_output[torch.arange(len(lengths)), lengths - 1]
    return outputs(dump, hidden, item_embedding)


def main(path):
    dump = json.load(open(path))
    params = dump["params"]

    def tensor(name):
        entry = params[name]
        return torch.tensor(entry["data"], dtype=torch.float32).reshape(entry["shape"])

    hidden_size, max_len = dump["hidden_size"], dump["max_len"]
    items = tensor("backbone.items.weight").shape[0]
    item_embedding = torch.nn.Embedding(items, hidden_size)
    position_embedding = torch.nn.Embedding(max_len, hidden_size)
    layer_norm = torch.nn.LayerNorm(hidden_size, eps=1e-12)
    encoder = TransformerEncoder(n_layers=2, n_heads=2, hidden_size=hidden_size, inner_size=256,
                                 hidden_dropout_prob=0.0, attn_dropout_prob=0.0,
                                 hidden_act="gelu", layer_norm_eps=1e-12)
    with torch.no_grad():
        item_embedding.weight.copy_(tensor("backbone.items.weight"))
        position_embedding.weight.copy_(tensor("backbone.positions.weight")[:max_len])
        layer_norm.weight.copy_(tensor("backbone.norm.gamma"))
        layer_norm.bias.copy_(tensor("backbone.norm.beta"))
        for index, layer in enumerate(encoder.layer):
            ours = f"backbone.blocks.{index}."
            attention, feed_forward = layer.multi_head_attention, layer.feed_forward
            # burn stores a Linear's weight as [in, out], torch as [out, in].
            for name, linear in [("query", attention.query), ("key", attention.key),
                                 ("value", attention.value), ("dense", attention.dense),
                                 ("ffn_in", feed_forward.dense_1),
                                 ("ffn_out", feed_forward.dense_2)]:
                linear.weight.copy_(tensor(ours + name + ".weight").T)
                linear.bias.copy_(tensor(ours + name + ".bias"))
            for name, norm in [("attention_norm", attention.LayerNorm),
                               ("ffn_norm", feed_forward.LayerNorm)]:
                norm.weight.copy_(tensor(ours + name + ".gamma"))
                norm.bias.copy_(tensor(ours + name + ".beta"))

    item_seq = torch.tensor(dump["ids"]).reshape(-1, max_len)
    # RecBole 1.2.1 SASRec.forward and get_attention_mask, unchanged but for dropout 0.
    position_ids = torch.arange(max_len).unsqueeze(0).expand_as(item_seq)
    embedded = layer_norm(item_embedding(item_seq) + position_embedding(position_ids))
    mask = torch.tril((item_seq != 0).unsqueeze(1).unsqueeze(2).expand(-1, -1, max_len, -1))
    mask = torch.where(mask, 0.0, -10000.0)
    hidden = encoder(embedded, mask, output_all_encoded_layers=True)[-1][:, -1]
    print("SASRec")
    worst = outputs(dump, hidden, item_embedding)
    if "gru4rec" in dump:
        print("GRU4Rec")
        worst = max(worst, gru4rec(dump["gru4rec"]))
    print("parity: ok" if worst < 1e-4 else "parity: FAILED")
    sys.exit(0 if worst < 1e-4 else 1)


if __name__ == "__main__":
    main(sys.argv[1])
