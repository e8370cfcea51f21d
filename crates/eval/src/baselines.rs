//! Reference recommenders every model is compared with.

use crate::scorer::{Case, Scorer};

/// Scores each item by its training popularity: the floor of diversity, what total collapse
/// looks like.
#[derive(Debug, Clone)]
pub struct MostPopular {
    scores: Vec<f32>,
}

impl MostPopular {
    /// From training interaction counts indexed by item id (index 0 = padding).
    pub fn new(counts: &[u64]) -> Self {
        MostPopular {
            scores: counts.iter().map(|&c| c as f32).collect(),
        }
    }
}

impl Scorer for MostPopular {
    fn score(&self, cases: &[Case<'_>], out: &mut [f32]) {
        for row in out.chunks_mut(self.scores.len()).take(cases.len()) {
            row.copy_from_slice(&self.scores);
        }
    }
}

/// Uniformly random scores, a deterministic function of (seed, user, item): the same whatever
/// the batching or thread count.
#[derive(Debug, Clone, Copy)]
pub struct UniformRandom {
    pub seed: u64,
}

/// SplitMix64's finaliser: a fast, well-mixed hash of a 64-bit word.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Scorer for UniformRandom {
    fn score(&self, cases: &[Case<'_>], out: &mut [f32]) {
        let width = out.len() / cases.len().max(1);
        for (case, row) in cases.iter().zip(out.chunks_mut(width)) {
            let user_key =
                mix(self.seed ^ (u64::from(case.user) << 32).wrapping_add(0x9e37_79b9_7f4a_7c15));
            for (item, slot) in row.iter_mut().enumerate() {
                // 24 random bits -> [0, 1) exactly representable in f32.
                *slot = (mix(user_key ^ item as u64) >> 40) as f32 / (1u64 << 24) as f32;
            }
        }
    }
}
