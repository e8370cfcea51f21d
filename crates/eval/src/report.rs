//! The evaluation report: protocol, metrics and alarms, printable as a table and as JSON.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::collapse::Alarm;

/// How the figures were measured; part of every report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    /// Which cases were evaluated (`"test"`, `"valid"`).
    pub split: String,
    /// The candidate set.
    pub candidates: String,
    /// Whether the user's history items were removed from the candidates.
    pub mask_history: bool,
    /// How equal scores are ranked.
    pub ties: String,
    pub ks: Vec<usize>,
    pub items: usize,
    pub cases: usize,
    /// Cases whose target is a short-head item.
    pub head_cases: usize,
    /// Cases whose target is a long-tail item.
    pub tail_cases: usize,
}

/// An evaluation: protocol, metrics named like `NDCG@10`, and collapse alarms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub protocol: Protocol,
    pub metrics: BTreeMap<String, f64>,
    #[serde(default)]
    pub alarms: Vec<Alarm>,
}

/// Metric families in the order the table prints them.
pub const METRIC_ORDER: [&str; 17] = [
    "HR",
    "NDCG",
    "MRR",
    "HeadHR",
    "HeadNDCG",
    "TailHR",
    "TailNDCG",
    "ItemCoverage",
    "Gini",
    "Entropy",
    "EntropyNorm",
    "ARP",
    "APLT",
    "Novelty",
    "Miscalibration",
    "CategoryILD",
    "CategoryCoverage",
];

impl Report {
    /// A metric by name, such as `NDCG@10`.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics.get(name).copied()
    }

    /// The protocol in one line, for logs and table captions.
    pub fn protocol_line(&self) -> String {
        let p = &self.protocol;
        format!(
            "{} split, {} cases, candidates: {}, history {}, ties {}",
            p.split,
            p.cases,
            p.candidates,
            if p.mask_history {
                "masked"
            } else {
                "not masked"
            },
            p.ties
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.protocol_line())?;
        write!(f, "{:<18}", "metric")?;
        for k in &self.protocol.ks {
            write!(f, "{:>10}", format!("@{k}"))?;
        }
        writeln!(f)?;
        for family in METRIC_ORDER {
            let values: Vec<Option<f64>> = self
                .protocol
                .ks
                .iter()
                .map(|k| self.metric(&format!("{family}@{k}")))
                .collect();
            if values.iter().all(Option::is_none) {
                continue;
            }
            write!(f, "{family:<18}")?;
            for value in values {
                match value {
                    Some(v) if v.abs() >= 100.0 => write!(f, "{v:>10.1}")?,
                    Some(v) => write!(f, "{v:>10.4}")?,
                    None => write!(f, "{:>10}", "-")?,
                }
            }
            writeln!(f)?;
        }
        for alarm in &self.alarms {
            writeln!(f, "ALARM {}", alarm)?;
        }
        Ok(())
    }
}
