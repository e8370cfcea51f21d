//! A seeded synthetic dataset in which the next item depends on several earlier items.
//!
//! # Generating process
//!
//! 1. **Items and topics.** `items` items are dealt round-robin into `topics` topics. Every item
//!    gets a global popularity rank from a seeded permutation, and its weight is
//!    `1 / rank^popularity_exponent`: item popularity follows a power law (Zipf).
//! 2. **A hidden transition rule.** A table `next[a][b]`, drawn uniformly at random once, maps
//!    the topics of the two previous items (`a` two steps back, `b` one step back) to the topic
//!    of the next one.
//! 3. **Hidden user intents.** Each user draws `intents_per_user` favourite topics, with topic
//!    popularity itself Zipf-distributed (exponent `topic_exponent`).
//! 4. **Sequences.** A user's length is uniform in `min_length..=max_length`. The first two
//!    items come from the user's intents. Each later item's topic follows the rule
//!    `next[topic(t-2)][topic(t-1)]` with probability `rule_probability`, and is one of the
//!    user's intents otherwise. The item is then drawn from that topic by popularity weight,
//!    never repeating an item the user already has.
//! 5. **Time.** Each user starts at a random time in the first `time_span / 2` seconds and each
//!    step adds 1..=`2 * time_span / max_length` seconds, so users interleave in time and the
//!    temporal split is meaningful.
//!
//! Knowing only the last item reveals `topic(t-1)`, from which the rule's output is spread over
//! many topics; knowing the last two items reveals the next topic exactly (with probability
//! `rule_probability`). A model that reasons over the history therefore beats one that only looks
//! at the last item, and popularity alone is a weak baseline.
//!
//! The defaults (6 topics of 100 items, one intent per user, the rule followed 90% of the time)
//! are sized so that a small transformer learns the structure within a few minutes on a CPU;
//! more topics make the rule table (topics²) slower to learn.

use rand::distr::weighted::WeightedIndex;
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Zipf};
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::load::Interactions;

/// Settings of the synthetic generator. The defaults make the embedded dataset of `just train`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyntheticConfig {
    pub users: usize,
    pub items: usize,
    pub topics: usize,
    pub intents_per_user: usize,
    pub min_length: usize,
    pub max_length: usize,
    /// Exponent of the item-popularity power law.
    pub popularity_exponent: f64,
    /// Exponent of the power law over topics that users pick as intents.
    pub topic_exponent: f64,
    /// Probability that the next topic follows the two-item transition rule.
    pub rule_probability: f64,
    /// Seconds the whole dataset spans.
    pub time_span: i64,
    pub seed: u64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            users: 2000,
            items: 600,
            topics: 6,
            intents_per_user: 1,
            min_length: 20,
            max_length: 60,
            popularity_exponent: 0.8,
            topic_exponent: 0.7,
            rule_probability: 0.9,
            time_span: 100_000_000,
            seed: 42,
        }
    }
}

impl SyntheticConfig {
    fn validate(&self) -> Result<()> {
        let invalid = |field: &'static str, message: &str| {
            Err(DataError::InvalidSetting {
                field,
                message: message.into(),
            })
        };
        if self.users == 0 {
            return invalid("synthetic.users", "must be at least 1");
        }
        if self.topics < 2 || self.items < self.topics {
            return invalid(
                "synthetic.topics",
                "need at least 2 topics and at least one item per topic",
            );
        }
        if self.min_length < 2 || self.min_length > self.max_length {
            return invalid("synthetic.min_length", "need 2 <= min_length <= max_length");
        }
        if self.max_length > self.items / 2 {
            return invalid(
                "synthetic.max_length",
                "must be at most half the number of items",
            );
        }
        if self.intents_per_user == 0 || self.intents_per_user > self.topics {
            return invalid("synthetic.intents_per_user", "must be between 1 and topics");
        }
        if !(0.0..=1.0).contains(&self.rule_probability) {
            return invalid("synthetic.rule_probability", "must be in [0, 1]");
        }
        if self.time_span < 2 * self.max_length as i64 {
            return invalid("synthetic.time_span", "must be at least twice max_length");
        }
        Ok(())
    }
}

/// Generates the interactions. The same config always gives the same data.
pub fn generate(config: &SyntheticConfig) -> Result<Interactions> {
    config.validate()?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(config.seed);
    let topics = config.topics;

    // 1. Items, topics and power-law popularity.
    let mut ranks: Vec<usize> = (1..=config.items).collect();
    ranks.shuffle(&mut rng);
    let mut topic_items: Vec<Vec<usize>> = vec![Vec::new(); topics];
    for item in 0..config.items {
        topic_items[item % topics].push(item);
    }
    let topic_samplers: Vec<WeightedIndex<f64>> = topic_items
        .iter()
        .map(|items| {
            WeightedIndex::new(
                items
                    .iter()
                    .map(|&i| (ranks[i] as f64).powf(-config.popularity_exponent)),
            )
            .expect("every topic has items with positive weights")
        })
        .collect();

    // 2. The hidden two-step transition rule.
    let rule: Vec<usize> = (0..topics * topics)
        .map(|_| rng.random_range(0..topics))
        .collect();

    // 3-5. Users.
    let topic_zipf =
        Zipf::new(topics as f64, config.topic_exponent).expect("valid Zipf parameters");
    let step_max = (2 * config.time_span / config.max_length as i64).max(1);
    let mut out = Interactions {
        user_ids: (0..config.users).map(|u| format!("u{u}")).collect(),
        item_ids: (0..config.items).map(|i| format!("i{i}")).collect(),
        ..Interactions::default()
    };
    for user in 0..config.users {
        let mut intents = Vec::with_capacity(config.intents_per_user);
        while intents.len() < config.intents_per_user {
            let topic = topic_zipf.sample(&mut rng) as usize - 1;
            if !intents.contains(&topic) {
                intents.push(topic);
            }
        }
        let length = rng.random_range(config.min_length..=config.max_length);
        let mut time = rng.random_range(0..config.time_span / 2);
        let mut seen = vec![false; config.items];
        let mut history_topics: Vec<usize> = Vec::with_capacity(length);
        for t in 0..length {
            let topic = if t >= 2 && rng.random_bool(config.rule_probability) {
                rule[history_topics[t - 2] * topics + history_topics[t - 1]]
            } else {
                intents[rng.random_range(0..intents.len())]
            };
            // Draw by popularity without repeating; fall back to the least-seen scan.
            let candidates = &topic_items[topic];
            let mut item = candidates[topic_samplers[topic].sample(&mut rng)];
            let mut tries = 0;
            while seen[item] && tries < 16 {
                item = candidates[topic_samplers[topic].sample(&mut rng)];
                tries += 1;
            }
            if seen[item] {
                match candidates.iter().find(|&&i| !seen[i]) {
                    Some(&free) => item = free,
                    // The topic is exhausted for this user: take any unseen item.
                    None => {
                        item = (0..config.items)
                            .find(|&i| !seen[i])
                            .expect("max_length <= items / 2")
                    }
                }
            }
            seen[item] = true;
            history_topics.push(item % topics);
            time += rng.random_range(1..=step_max);
            out.user.push(user as u32);
            out.item.push(item as u32);
            out.rating.push(5.0);
            out.timestamp.push(time);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> SyntheticConfig {
        SyntheticConfig {
            users: 300,
            items: 200,
            topics: 10,
            min_length: 10,
            max_length: 30,
            ..SyntheticConfig::default()
        }
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let a = generate(&small()).unwrap();
        assert_eq!(a, generate(&small()).unwrap());
        let b = generate(&SyntheticConfig { seed: 7, ..small() }).unwrap();
        assert_ne!(a.item, b.item);
    }

    #[test]
    fn popularity_is_skewed() {
        let data = generate(&small()).unwrap();
        let mut counts = vec![0u64; 200];
        for &i in &data.item {
            counts[i as usize] += 1;
        }
        let gini = crate::dataset::gini(&counts);
        assert!(
            gini > 0.3,
            "item popularity Gini {gini} is not power-law-like"
        );
    }

    /// The next topic is far better predicted from the last two items than from the last one.
    #[test]
    fn two_items_predict_the_next_topic_better_than_one() {
        let config = small();
        let data = generate(&config).unwrap();
        let topics = config.topics;
        let mut one = vec![vec![0u32; topics]; topics];
        let mut two = vec![vec![0u32; topics]; topics * topics];
        let mut rows = 0;
        for w in 0..data.len() - 2 {
            if data.user[w] != data.user[w + 2] {
                continue;
            }
            let t = |r: usize| data.item[r] as usize % topics;
            one[t(w + 1)][t(w + 2)] += 1;
            two[t(w) * topics + t(w + 1)][t(w + 2)] += 1;
            rows += 1;
        }
        // Accuracy of the best guess given the context (in-sample).
        let best = |table: &Vec<Vec<u32>>| {
            table
                .iter()
                .map(|row| *row.iter().max().unwrap() as f64)
                .sum::<f64>()
                / rows as f64
        };
        let (acc_one, acc_two) = (best(&one), best(&two));
        assert!(
            acc_two > acc_one + 0.2,
            "two-item context {acc_two:.3} vs one-item {acc_one:.3}"
        );
    }

    #[test]
    fn invalid_settings_are_named() {
        let err = generate(&SyntheticConfig {
            topics: 1,
            ..small()
        })
        .unwrap_err();
        assert!(err.to_string().contains("synthetic.topics"));
    }
}
