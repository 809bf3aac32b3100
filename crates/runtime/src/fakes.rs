//! In-memory ports for the handlers' unit tests.

use std::collections::HashMap;
use std::sync::Mutex;

use appflow_retry_policy::{RunRecord, RunStatus};
use chrono::{DateTime, TimeDelta, Utc};

use crate::ports::{
    AppFlow, Clock, FlowInfo, FlowSummary, FlowsPage, ParameterStore, PortError, RecordsPage, StartOutcome,
    StateMachine, TaskTokens,
};

#[derive(Debug, Default)]
pub struct Store {
    pub params: Mutex<HashMap<String, String>>,
    /// The names read, in order.
    pub gets: Mutex<Vec<String>>,
    /// Read requests (one per GetParameters call).
    pub reads: Mutex<usize>,
    pub fail: Mutex<Option<PortError>>,
}

impl Store {
    pub fn put(&self, name: &str, value: &str) {
        self.params.lock().unwrap().insert(name.into(), value.into());
    }
    pub fn gets(&self) -> usize {
        self.gets.lock().unwrap().len()
    }
    pub fn reads(&self) -> usize {
        *self.reads.lock().unwrap()
    }
}

impl ParameterStore for Store {
    async fn get_many(&self, names: &[String]) -> Result<Vec<Option<String>>, PortError> {
        assert!(names.len() <= crate::ports::NAMES_PER_READ, "{names:?}");
        self.gets.lock().unwrap().extend(names.iter().cloned());
        *self.reads.lock().unwrap() += 1;
        if let Some(e) = self.fail.lock().unwrap().clone() {
            return Err(e);
        }
        let params = self.params.lock().unwrap();
        Ok(names.iter().map(|n| params.get(n).cloned()).collect())
    }
}

#[derive(Debug)]
pub struct Flows {
    pub flows: Mutex<HashMap<String, (FlowInfo, Vec<RunRecord>)>>,
    pub page_size: usize,
    pub record_calls: Mutex<usize>,
    /// Flows whose records were read, in order.
    pub records_read: Mutex<Vec<String>>,
    pub list_calls: Mutex<usize>,
    pub started: Mutex<Vec<(String, String)>>,
    pub fail: Mutex<Option<PortError>>,
    /// StartFlow never answers (a hung call), when set.
    pub hang_start: Mutex<bool>,
    /// ListFlows gives no `mostRecentExecutionTime`, when set.
    pub no_last_run_time: Mutex<bool>,
    /// Execution ids DescribeFlowExecutionRecords does not show yet
    /// (AppFlow can show a record after its run's report); ListFlows does.
    pub unlisted: Mutex<std::collections::HashSet<String>>,
}

impl Default for Flows {
    fn default() -> Self {
        Flows {
            flows: Mutex::default(),
            page_size: 100,
            record_calls: Mutex::new(0),
            records_read: Mutex::default(),
            list_calls: Mutex::new(0),
            started: Mutex::default(),
            fail: Mutex::default(),
            hang_start: Mutex::new(false),
            no_last_run_time: Mutex::new(false),
            unlisted: Mutex::default(),
        }
    }
}

impl Flows {
    /// ListFlows without `mostRecentExecutionTime` from now on.
    pub fn hide_last_run_time(&self) {
        *self.no_last_run_time.lock().unwrap() = true;
    }

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
    /// ListFlows, by name, `page_size` a page; the last run is the newest record.
    async fn list_flows(&self, next_token: Option<String>) -> Result<FlowsPage, PortError> {
        *self.list_calls.lock().unwrap() += 1;
        if let Some(e) = self.fail.lock().unwrap().clone() {
            return Err(e);
        }
        let timed = !*self.no_last_run_time.lock().unwrap();
        let flows = self.flows.lock().unwrap();
        let mut names: Vec<&String> = flows.keys().collect();
        names.sort();
        let start: usize = next_token.map_or(0, |t| t.parse().unwrap());
        let end = (start + self.page_size).min(names.len());
        let summaries = names[start..end]
            .iter()
            .map(|name| {
                let (info, records) = &flows[*name];
                let last = records.iter().max_by_key(|r| r.time());
                FlowSummary {
                    name: (*name).clone(),
                    status: info.status.clone(),
                    trigger_type: info.trigger_type.clone(),
                    last_run_status: last.map(|r| r.status.as_str().to_owned()),
                    last_run_time: last.and_then(RunRecord::time).filter(|_| timed),
                }
            })
            .collect();
        Ok(FlowsPage {
            flows: summaries,
            next_token: (end < names.len()).then(|| end.to_string()),
        })
    }

    async fn execution_records(&self, flow: &str, next_token: Option<String>) -> Result<RecordsPage, PortError> {
        *self.record_calls.lock().unwrap() += 1;
        self.records_read.lock().unwrap().push(flow.into());
        if let Some(e) = self.fail.lock().unwrap().clone() {
            return Err(e);
        }
        let flows = self.flows.lock().unwrap();
        let Some((_, records)) = flows.get(flow) else {
            return Err(PortError::NotFound(format!("no flow {flow}")));
        };
        let unlisted = self.unlisted.lock().unwrap();
        let records: Vec<&RunRecord> = records.iter().filter(|r| !unlisted.contains(&r.execution_id)).collect();
        let start: usize = next_token.map_or(0, |t| t.parse().unwrap());
        let end = (start + self.page_size).min(records.len());
        Ok(RecordsPage {
            records: records[start..end].iter().map(|r| (*r).clone()).collect(),
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
        if *self.hang_start.lock().unwrap() {
            std::future::pending::<()>().await;
        }
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
    pub describes: Mutex<usize>,
    pub input_reads: Mutex<usize>,
    /// Fails `execution_input` alone (DescribeExecution), when set.
    pub fail_input: Mutex<Option<PortError>>,
    /// The running executions ListExecutions reports (name, start), two a
    /// page; none unless a test says so.
    pub running: Mutex<Vec<(String, DateTime<Utc>)>>,
    /// Fails `running_executions` alone, when set.
    pub fail_list: Mutex<Option<PortError>>,
    /// ListExecutions calls.
    pub list_calls: Mutex<usize>,
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

    async fn execution_exists(&self, name: &str) -> Result<bool, PortError> {
        *self.describes.lock().unwrap() += 1;
        if let Some(e) = self.fail.lock().unwrap().clone() {
            return Err(e);
        }
        Ok(self.executions.lock().unwrap().iter().any(|(n, _)| n == name))
    }

    async fn execution_input(&self, name: &str) -> Result<Option<String>, PortError> {
        *self.input_reads.lock().unwrap() += 1;
        if let Some(e) = self
            .fail
            .lock()
            .unwrap()
            .clone()
            .or_else(|| self.fail_input.lock().unwrap().clone())
        {
            return Err(e);
        }
        let ex = self.executions.lock().unwrap();
        Ok(ex.iter().find(|(n, _)| n == name).map(|(_, i)| i.clone()))
    }

    async fn running_executions(&self, next_token: Option<String>) -> Result<crate::ports::RunningPage, PortError> {
        *self.list_calls.lock().unwrap() += 1;
        if let Some(e) = self.fail_list.lock().unwrap().clone() {
            return Err(e);
        }
        let running = self.running.lock().unwrap();
        let start: usize = next_token.map_or(0, |t| t.parse().unwrap());
        let end = (start + 2).min(running.len());
        Ok(crate::ports::RunningPage {
            executions: running[start..end]
                .iter()
                .map(|(name, started_at)| crate::ports::RunningExecution {
                    name: name.clone(),
                    started_at: *started_at,
                })
                .collect(),
            next_token: (end < running.len()).then(|| end.to_string()),
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

/// An SQS queue in memory: messages, their receipts, deletes and releases.
#[derive(Debug, Default)]
pub struct Queues {
    /// (queue url, message) in arrival order; a message is visible when not received.
    pub messages: Mutex<Vec<(String, crate::redrive::QueueMessage, bool)>>,
    pub receives: Mutex<Vec<usize>>,
    pub deleted: Mutex<Vec<String>>,
    pub released: Mutex<Vec<String>>,
    pub fail_delete: Mutex<Option<PortError>>,
    /// The queue's count cannot be read (GetQueueAttributes fails).
    pub fail_count: Mutex<Option<PortError>>,
    /// Deliver the first message of each receive twice (at-least-once
    /// delivery), even past the receive's `max`.
    pub duplicate: Mutex<bool>,
    /// A loop guard: the receive after this many fails, so that a test of
    /// a redrive that would never end fails instead of hanging.
    pub max_receives: Mutex<Option<usize>>,
}

impl Queues {
    pub fn put(&self, url: &str, id: &str, body: &str, attributes: &[(&str, &str)]) {
        let message = crate::redrive::QueueMessage {
            message_id: id.into(),
            receipt_handle: format!("receipt-{id}"),
            body: body.into(),
            attributes: attributes.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
        };
        self.messages.lock().unwrap().push((url.into(), message, true));
    }
    /// Ids of the messages still in `url`.
    pub fn remaining(&self, url: &str) -> Vec<String> {
        let messages = self.messages.lock().unwrap();
        messages
            .iter()
            .filter(|(u, _, _)| u == url)
            .map(|(_, m, _)| m.message_id.clone())
            .collect()
    }
}

impl crate::redrive::Queue for Queues {
    async fn receive(
        &self,
        queue_url: &str,
        max: usize,
        visibility_timeout_seconds: u32,
    ) -> Result<Vec<crate::redrive::QueueMessage>, PortError> {
        let receives = {
            let mut receives = self.receives.lock().unwrap();
            receives.push(max);
            receives.len()
        };
        if self.max_receives.lock().unwrap().is_some_and(|guard| receives > guard) {
            return Err(PortError::Failed(format!("loop guard: receive number {receives}")));
        }
        let mut messages = self.messages.lock().unwrap();
        let mut out = Vec::new();
        for (url, message, visible) in messages.iter_mut() {
            if url == queue_url && *visible && out.len() < max {
                // A visibility timeout of 0 hides nothing: the message comes back on the next receive.
                *visible = visibility_timeout_seconds == 0;
                out.push(message.clone());
            }
        }
        if *self.duplicate.lock().unwrap()
            && let Some(first) = out.first().cloned()
        {
            out.push(first);
        }
        Ok(out)
    }

    async fn delete(&self, queue_url: &str, receipt_handle: &str) -> Result<(), PortError> {
        if let Some(e) = self.fail_delete.lock().unwrap().clone() {
            return Err(e);
        }
        let mut messages = self.messages.lock().unwrap();
        let before = messages.len();
        messages.retain(|(u, m, _)| !(u == queue_url && m.receipt_handle == receipt_handle));
        assert_eq!(
            before,
            messages.len() + 1,
            "deleted an unknown receipt {receipt_handle}"
        );
        self.deleted.lock().unwrap().push(receipt_handle.into());
        Ok(())
    }

    async fn release(&self, queue_url: &str, receipt_handle: &str) -> Result<(), PortError> {
        for (u, m, visible) in self.messages.lock().unwrap().iter_mut() {
            if u == queue_url && m.receipt_handle == receipt_handle {
                *visible = true;
            }
        }
        self.released.lock().unwrap().push(receipt_handle.into());
        Ok(())
    }

    async fn approximate_count(&self, queue_url: &str) -> Result<u64, PortError> {
        if let Some(e) = self.fail_count.lock().unwrap().clone() {
            return Err(e);
        }
        Ok(self.remaining(queue_url).len() as u64)
    }
}

/// Lambda in memory: records each asynchronous invocation.
#[derive(Debug, Default)]
pub struct Invocations {
    pub invoked: Mutex<Vec<(String, String)>>,
    pub fail: Mutex<Option<PortError>>,
}

impl crate::redrive::Invoker for Invocations {
    async fn invoke_async(&self, function: &str, payload: &str) -> Result<(), PortError> {
        if let Some(e) = self.fail.lock().unwrap().clone() {
            return Err(e);
        }
        self.invoked.lock().unwrap().push((function.into(), payload.into()));
        Ok(())
    }
}

/// The SSM prefix of the handlers built here: the service's default.
pub use appflow_retry_policy::naming::DEFAULT_POLICY_PREFIX as PREFIX;

/// The handlers' four ports in memory: the world the handler tests share.
/// A test file declares its own `World` over it with [`test_world!`] and
/// adds the set-up it needs.
#[derive(Debug)]
pub struct Ports {
    pub store: Store,
    pub flows: Flows,
    pub machine: Machine,
    pub clock: FixedClock,
    /// The `max_history_pages` of the handlers built here.
    pub history_pages: usize,
}

impl Ports {
    /// `flows` at `now`, with `default_policy` as the default policy parameter.
    pub fn new(flows: Flows, now: DateTime<Utc>, default_policy: &str) -> Ports {
        let ports = Ports {
            store: Store::default(),
            flows,
            machine: Machine::default(),
            clock: FixedClock::at(now),
            history_pages: 3,
        };
        ports
            .store
            .put(&appflow_retry_policy::naming::default_parameter(PREFIX), default_policy);
        ports
    }

    /// The on-failure handler on these ports.
    pub fn on_failure(&self) -> crate::OnFailure<&Store, &Flows, &Machine, &FixedClock> {
        crate::OnFailure {
            policies: crate::PolicyCache::new(&self.store, PREFIX, 60),
            appflow: &self.flows,
            state_machine: &self.machine,
            clock: &self.clock,
            max_history_pages: self.history_pages,
        }
    }

    /// The restart handler on these ports.
    pub fn restart(&self) -> crate::Restart<&Store, &Flows, &FixedClock> {
        crate::Restart {
            policies: crate::PolicyCache::new(&self.store, PREFIX, 60),
            appflow: &self.flows,
            clock: &self.clock,
            max_history_pages: 3,
        }
    }
}

/// Declares the test file's `World`: [`Ports`] (reached through `Deref`)
/// under the file's own constructors and helpers.
macro_rules! test_world {
    () => {
        struct World($crate::fakes::Ports);

        impl std::ops::Deref for World {
            type Target = $crate::fakes::Ports;
            fn deref(&self) -> &$crate::fakes::Ports {
                &self.0
            }
        }
    };
}
pub(crate) use test_world;

/// What a task token was answered: the output, or (error, cause).
pub type TaskAnswer = Result<String, (String, String)>;

/// Step Functions' task tokens: the tokens whose executions wait, and what
/// each was answered.
#[derive(Debug, Default)]
pub struct Tasks {
    pub waiting: Mutex<Vec<String>>,
    pub heartbeats: Mutex<Vec<String>>,
    /// (token, Ok(output) | Err((error, cause))), in order.
    pub answers: Mutex<Vec<(String, TaskAnswer)>>,
    pub fail_heartbeat: Mutex<Option<PortError>>,
    pub fail_answer: Mutex<Option<PortError>>,
    /// Executions by name: (start, running); DescribeExecution reads them.
    pub executions: Mutex<HashMap<String, crate::ports::ExecutionState>>,
    /// The execution stops waiting right after its heartbeat (a `cancel`
    /// during the restart).
    pub cancel_after_heartbeat: Mutex<bool>,
}

impl Tasks {
    pub fn waiting(tokens: &[&str]) -> Self {
        let t = Tasks::default();
        t.waiting.lock().unwrap().extend(tokens.iter().map(|s| (*s).to_owned()));
        t
    }

    /// The execution a restart payload names, running since the payload's
    /// `execution_started_at` (as its Restart task would have sent it).
    pub fn running(self, payload: &serde_json::Value) -> Self {
        let name = payload["execution_name"].as_str().unwrap_or_default().to_owned();
        let started_at =
            appflow_retry_policy::appflow::parse_time(payload["execution_started_at"].as_str().unwrap_or_default())
                .unwrap_or_default();
        self.executions.lock().unwrap().insert(
            name,
            crate::ports::ExecutionState {
                started_at,
                running: true,
            },
        );
        self
    }

    fn answer(&self, token: &str, answer: TaskAnswer) -> Result<(), PortError> {
        if let Some(e) = self.fail_answer.lock().unwrap().clone() {
            return Err(e);
        }
        let mut waiting = self.waiting.lock().unwrap();
        let Some(at) = waiting.iter().position(|t| t == token) else {
            return Err(PortError::NotFound(format!("TaskTimedOut: {token}")));
        };
        waiting.remove(at);
        self.answers.lock().unwrap().push((token.to_owned(), answer));
        Ok(())
    }
}

impl TaskTokens for Tasks {
    async fn execution(&self, name: &str) -> Result<Option<crate::ports::ExecutionState>, PortError> {
        Ok(self.executions.lock().unwrap().get(name).copied())
    }

    async fn heartbeat(&self, token: &str) -> Result<(), PortError> {
        self.heartbeats.lock().unwrap().push(token.to_owned());
        if let Some(e) = self.fail_heartbeat.lock().unwrap().clone() {
            return Err(e);
        }
        let mut waiting = self.waiting.lock().unwrap();
        if !waiting.iter().any(|t| t == token) {
            return Err(PortError::NotFound(format!("InvalidToken: {token}")));
        }
        if *self.cancel_after_heartbeat.lock().unwrap() {
            waiting.retain(|t| t != token);
        }
        Ok(())
    }

    async fn succeed(&self, token: &str, output: &str) -> Result<(), PortError> {
        self.answer(token, Ok(output.to_owned()))
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), PortError> {
        self.answer(token, Err((error.to_owned(), cause.to_owned())))
    }
}
