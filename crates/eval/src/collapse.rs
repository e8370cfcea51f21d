//! The collapse monitor: compares an evaluation with a reference (the SFT model, or round 0 of a
//! loop) and raises named alarms when recommendations narrow to a few popular items.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::report::Report;

/// Alarm thresholds. Ratios are against the reference report's value at the same K.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollapseConfig {
    /// The cut-off whose exposure metrics are watched.
    pub k: usize,
    /// Alarm when ItemCoverage@K < this × the reference's.
    pub min_coverage_ratio: f64,
    /// Alarm when Gini@K > the reference's + this.
    pub max_gini_increase: f64,
    /// Alarm when APLT@K < this × the reference's.
    pub min_aplt_ratio: f64,
    /// Ratio alarms (coverage, APLT) are not raised when the reference value is below this:
    /// a drop from 0.0001 to 0 is a 100% drop of nothing.
    pub min_reference: f64,
    /// Whether an alarm should stop training (the trainers read this).
    pub stop_on_alarm: bool,
}

impl Default for CollapseConfig {
    fn default() -> Self {
        CollapseConfig {
            k: 10,
            min_coverage_ratio: 0.5,
            max_gini_increase: 0.1,
            min_aplt_ratio: 0.5,
            min_reference: 0.01,
            stop_on_alarm: false,
        }
    }
}

/// One raised alarm with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    /// `coverage_drop`, `gini_rise` or `aplt_drop`.
    pub name: String,
    /// The metric watched, such as `ItemCoverage@10`.
    pub metric: String,
    pub value: f64,
    pub reference: f64,
    /// The bound the value crossed.
    pub bound: f64,
}

impl fmt::Display for Alarm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let relation = if self.name == "gini_rise" { ">" } else { "<" };
        write!(
            f,
            "{}: {} = {:.4} {relation} bound {:.4} (reference {:.4})",
            self.name, self.metric, self.value, self.bound, self.reference
        )
    }
}

/// Watches evaluations against a reference report.
#[derive(Debug, Clone)]
pub struct CollapseMonitor {
    pub config: CollapseConfig,
    reference: Report,
}

impl CollapseMonitor {
    /// A monitor with `reference` as the healthy state.
    pub fn new(config: CollapseConfig, reference: Report) -> Self {
        CollapseMonitor { config, reference }
    }

    /// The alarms `report` raises (empty when healthy). Metrics missing from either report
    /// are not checked.
    pub fn check(&self, report: &Report) -> Vec<Alarm> {
        let k = self.config.k;
        let mut alarms = Vec::new();
        let min_reference = self.config.min_reference;
        let mut watch = |name: &str, family: &str, bound: &dyn Fn(f64) -> f64, below: bool| {
            let metric = format!("{family}@{k}");
            if let (Some(value), Some(reference)) =
                (report.metric(&metric), self.reference.metric(&metric))
                && (!below || reference >= min_reference)
            {
                let bound = bound(reference);
                let crossed = if below { value < bound } else { value > bound };
                if crossed {
                    alarms.push(Alarm {
                        name: name.to_string(),
                        metric,
                        value,
                        reference,
                        bound,
                    });
                }
            }
        };
        let c = &self.config;
        watch(
            "coverage_drop",
            "ItemCoverage",
            &|r| r * c.min_coverage_ratio,
            true,
        );
        watch("gini_rise", "Gini", &|r| r + c.max_gini_increase, false);
        watch("aplt_drop", "APLT", &|r| r * c.min_aplt_ratio, true);
        alarms
    }

    /// Checks `report`, records the alarms in it, and says whether training should stop.
    pub fn observe(&self, report: &mut Report) -> bool {
        report.alarms = self.check(report);
        self.config.stop_on_alarm && !report.alarms.is_empty()
    }
}
