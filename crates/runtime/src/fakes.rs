//! In-memory ports for the handlers' unit tests.

use std::collections::HashMap;
use std::sync::Mutex;

use appflow_retry_policy::{RunRecord, RunStatus};
use chrono::{DateTime, TimeDelta, Utc};

use crate::ports::{AppFlow, Clock, FlowInfo, ParameterStore, PortError, RecordsPage, StartOutcome, StateMachine};

#[derive(Debug, Default)]
pub struct Store {
    pub params: Mutex<HashMap<String, String>>,
    pub gets: Mutex<Vec<String>>,
    pub fail: Mutex<Option<PortError>>,
}

impl Store {
    pub fn put(&self, name: &str, value: &str) {
        self.params.lock().unwrap().insert(name.into(), value.into());
    }
    pub fn gets(&self) -> usize {
        self.gets.lock().unwrap().len()
    }
}

impl ParameterStore for Store {
    async fn get(&self, name: &str) -> Result<Option<String>, PortError> {
        self.gets.lock().unwrap().push(name.into());
        if let Some(e) = self.fail.lock().unwrap().clone() {
            return Err(e);
        }
        Ok(self.params.lock().unwrap().get(name).cloned())
    }
}

#[derive(Debug)]
pub struct Flows {
    pub flows: Mutex<HashMap<String, (FlowInfo, Vec<RunRecord>)>>,
    pub page_size: usize,
    pub record_calls: Mutex<usize>,
    pub started: Mutex<Vec<(String, String)>>,
    pub fail: Mutex<Option<PortError>>,
}

impl Default for Flows {
    fn default() -> Self {
        Flows {
            flows: Mutex::default(),
            page_size: 100,
            record_calls: Mutex::new(0),
            started: Mutex::default(),
            fail: Mutex::default(),
        }
    }
}

impl Flows {
    pub fn add(&self, name: &str, trigger: &str, records: Vec<RunRecord>) {
        let info = FlowInfo {
            status: "Active".into(),
            trigger_type: trigger.into(),
            deactivation_threshold: match trigger {
                "Scheduled" => Some(3),
                "Event" => Some(1),
                _ => None,
            },
        };
        self.flows.lock().unwrap().insert(name.into(), (info, records));
    }
    /// Sets a flow's status (e.g. `Suspended`: deactivated).
    pub fn set_status(&self, name: &str, status: &str) {
        if let Some((info, _)) = self.flows.lock().unwrap().get_mut(name) {
            info.status = status.into();
        }
    }
    pub fn status(&self, name: &str) -> Option<String> {
        self.flows.lock().unwrap().get(name).map(|(i, _)| i.status.clone())
    }
    pub fn record_calls(&self) -> usize {
        *self.record_calls.lock().unwrap()
    }
}

pub fn record(id: &str, status: RunStatus, started: DateTime<Utc>) -> RunRecord {
    RunRecord {
        execution_id: id.into(),
        status,
        started_at: Some(started),
        last_updated_at: Some(started + TimeDelta::minutes(2)),
        message: None,
    }
}

impl AppFlow for Flows {
    async fn execution_records(&self, flow: &str, next_token: Option<String>) -> Result<RecordsPage, PortError> {
        *self.record_calls.lock().unwrap() += 1;
        if let Some(e) = self.fail.lock().unwrap().clone() {
            return Err(e);
        }
        let flows = self.flows.lock().unwrap();
        let Some((_, records)) = flows.get(flow) else {
            return Err(PortError::NotFound(format!("no flow {flow}")));
        };
        let start: usize = next_token.map_or(0, |t| t.parse().unwrap());
        let end = (start + self.page_size).min(records.len());
        Ok(RecordsPage {
            records: records[start..end].to_vec(),
            next_token: (end < records.len()).then(|| end.to_string()),
        })
    }

    async fn describe_flow(&self, flow: &str) -> Result<Option<FlowInfo>, PortError> {
        if let Some(e) = self.fail.lock().unwrap().clone() {
            return Err(e);
        }
        Ok(self.flows.lock().unwrap().get(flow).map(|(i, _)| i.clone()))
    }

    async fn start_flow(&self, flow: &str, client_token: &str) -> Result<Option<String>, PortError> {
        if let Some(e) = self.fail.lock().unwrap().clone() {
            return Err(e);
        }
        let mut flows = self.flows.lock().unwrap();
        let Some((info, _)) = flows.get_mut(flow) else {
            return Err(PortError::NotFound(format!("no flow {flow}")));
        };
        self.started.lock().unwrap().push((flow.into(), client_token.into()));
        // StartFlow on a scheduled or event flow activates it; no run starts.
        if !info.trigger_type.eq_ignore_ascii_case("OnDemand") {
            info.status = "Active".into();
            return Ok(None);
        }
        drop(flows);
        Ok(Some(format!("new-{}", self.started.lock().unwrap().len())))
    }
}

#[derive(Debug, Default)]
pub struct Machine {
    pub executions: Mutex<Vec<(String, String)>>,
    pub fail: Mutex<Option<PortError>>,
}

impl StateMachine for Machine {
    async fn start_execution(&self, name: &str, input: &str) -> Result<StartOutcome, PortError> {
        if let Some(e) = self.fail.lock().unwrap().clone() {
            return Err(e);
        }
        let mut ex = self.executions.lock().unwrap();
        if ex.iter().any(|(n, _)| n == name) {
            return Ok(StartOutcome::AlreadyExists);
        }
        ex.push((name.into(), input.into()));
        Ok(StartOutcome::Started {
            execution_arn: format!("arn:aws:states:us-east-1:123456789012:execution:retry:{name}"),
        })
    }
}

#[derive(Debug)]
pub struct FixedClock(pub Mutex<DateTime<Utc>>);

impl FixedClock {
    pub fn at(t: DateTime<Utc>) -> Self {
        FixedClock(Mutex::new(t))
    }
    pub fn advance(&self, d: TimeDelta) {
        *self.0.lock().unwrap() += d;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}
