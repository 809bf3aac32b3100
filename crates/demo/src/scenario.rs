//! A demo scenario: flows, how their runs go, and what the service should decide.

use std::path::Path;

use appflow_emulator::TriggerType;
use appflow_retry_policy::Action;
use appflow_retry_policy::duration::Duration;
use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Simulated time of the scenario's start.
    pub start: DateTime<Utc>,
    /// Wall seconds per simulated second (0: as fast as possible).
    #[serde(default = "default_scale")]
    pub time_scale: f64,
    pub flows: Vec<FlowScenario>,
}

fn default_scale() -> f64 {
    0.00005
}

fn default_every() -> Duration {
    Duration::from_secs(3_600)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowScenario {
    pub name: String,
    #[serde(default = "on_demand", deserialize_with = "scenario_trigger")]
    pub trigger: TriggerType,
    /// AppFlow's message for the first failure (and for failed restarts).
    pub failure: String,
    /// When the first failure happens, after `start`.
    #[serde(default)]
    pub at: Duration,
    /// Outcome of each run a restart starts: `succeed`, `fail` (the same
    /// message again), or any other text: fail with that message.
    #[serde(default)]
    pub restarts: Vec<String>,
    /// Extra deliveries of the first failure's event (EventBridge is at-least-once).
    #[serde(default)]
    pub duplicates: usize,
    /// Scheduled and event flows: AppFlow's `flowErrorDeactivationThreshold`
    /// (event flows: 1 whatever is set here). None: never deactivated.
    #[serde(default)]
    pub deactivate_after: Option<u32>,
    /// Scheduled flows: the runs after the first failure, one per `every`
    /// (`succeed`, `fail`, or a message); a run due while the flow is
    /// deactivated does not happen.
    #[serde(default)]
    pub scheduled_runs: Vec<String>,
    /// The schedule's interval.
    #[serde(default = "default_every")]
    pub every: Duration,
    /// Policy texts written to the flow's SSM parameter during the run.
    #[serde(default)]
    pub policy_edits: Vec<PolicyEdit>,
    /// The decisions the service must make, in order.
    pub expect: Vec<Action>,
}

/// A scenario's `trigger:` (`on_demand`, the default, `scheduled` or
/// `event`), as the domain's trigger type.
fn scenario_trigger<'de, D: serde::Deserializer<'de>>(d: D) -> Result<TriggerType, D::Error> {
    match String::deserialize(d)?.as_str() {
        "on_demand" => Ok(TriggerType::OnDemand),
        "scheduled" => Ok(TriggerType::Scheduled),
        "event" => Ok(TriggerType::Event),
        other => Err(serde::de::Error::unknown_variant(
            other,
            &["on_demand", "scheduled", "event"],
        )),
    }
}

fn on_demand() -> TriggerType {
    TriggerType::OnDemand
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyEdit {
    pub at: Duration,
    pub policy: String,
}

impl Scenario {
    pub fn load(path: &Path) -> Result<Scenario, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let scenario: Scenario = serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if scenario.flows.is_empty() {
            return Err(format!("{}: no flows", path.display()));
        }
        if !(scenario.time_scale >= 0.0 && scenario.time_scale.is_finite()) {
            return Err(format!("{}: time_scale must be 0 or more", path.display()));
        }
        Ok(scenario)
    }
}

impl FlowScenario {
    /// The message of restart `n`'s run (0-based), or None when it succeeds.
    pub fn restart_outcome(&self, n: usize) -> Option<String> {
        self.outcome(self.restarts.get(n))
    }

    /// The message of scheduled run `n` after the first failure (0-based),
    /// or None when it succeeds.
    pub fn scheduled_outcome(&self, n: usize) -> Option<String> {
        self.outcome(self.scheduled_runs.get(n))
    }

    fn outcome(&self, spec: Option<&String>) -> Option<String> {
        match spec.map(String::as_str) {
            None | Some("succeed") => None,
            Some("fail") => Some(self.failure.clone()),
            Some(message) => Some(message.to_owned()),
        }
    }
}
