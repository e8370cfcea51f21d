//! The full-softmax cross-entropy, written as max, log-sum-exp and the target's logit only: no
//! `log_softmax` over the whole `[N, items]` matrix is materialised (burn's `log_softmax` is
//! six separate full-size ops, all kept for backward: the biggest cost of the loss).

use burn::prelude::*;

/// Mean over rows of `-log softmax(logits)[target]`; `logits` is `[N, C]`, `targets` `[N]`.
pub fn cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    log_probs(logits, targets).neg().mean()
}

/// `log softmax(logits)[target]` of every row (`[N]`), without the `[N, C]` log-softmax.
pub fn log_probs(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    let [rows, _] = logits.dims();
    // The max only stabilises the exponentials; its gradient cancels, so it is detached.
    let shifted = logits.clone() - logits.detach().max_dim(1);
    let log_sum_exp = shifted.clone().exp().sum_dim(1).log();
    let picked = shifted.gather(1, targets.reshape([rows, 1]));
    (picked - log_sum_exp).reshape([rows])
}
