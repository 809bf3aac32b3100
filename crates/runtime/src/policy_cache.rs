//! Policies from SSM, cached in memory with a TTL.
//!
//! `<prefix>/default` and `<prefix>/flows/<encoded flow>` are each fetched at
//! most once per TTL, missing ones included (a missing parameter is cached as
//! missing), the stale ones of the two in one GetParameters call: one flow
//! costs at most 1 SSM read per TTL, and the default is shared by all flows. Policies fail closed (docs/design.md
//! §6.1): a parameter that exists but cannot be used makes the flow's policy
//! [`FlowPolicy::Broken`], never the default's; only a missing default
//! means the built-in defaults.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use appflow_retry_policy::FlowPolicy;
use appflow_retry_policy::naming::{default_parameter, flow_parameter};
use chrono::{DateTime, TimeDelta, Utc};

use crate::ports::{NAMES_PER_READ, ParameterStore, PortError};

/// The default TTL (`APPFLOW_RETRY_POLICY_TTL_SECONDS`).
pub const DEFAULT_TTL_SECONDS: u64 = 60;

/// A flow's policy as loaded from SSM, and whether its default parameter was missing.
#[derive(Debug, Clone)]
pub struct LoadedPolicy {
    /// The policy in force for the flow, or why it is broken (fail closed); shared with the cache.
    pub policy: Arc<FlowPolicy>,
    /// No `<prefix>/default` parameter exists: the built-in defaults apply.
    pub default_missing: bool,
}

#[derive(Debug, Clone)]
struct Param {
    value: Option<String>,
    fetched: DateTime<Utc>,
}

#[derive(Debug)]
struct Resolved {
    default: Option<String>,
    flow: Option<String>,
    loaded: LoadedPolicy,
}

/// The cache. Cheap to share: the handlers hold one for the life of the process.
#[derive(Debug)]
pub struct PolicyCache<S> {
    store: S,
    prefix: String,
    ttl: TimeDelta,
    params: Mutex<HashMap<String, Param>>,
    resolved: Mutex<HashMap<String, Resolved>>,
}

impl<S: ParameterStore> PolicyCache<S> {
    /// A cache reading through `store` under `prefix` (e.g. `/appflow-retry`), each parameter
    /// at most once per `ttl_seconds` (a missing one included).
    pub fn new(store: S, prefix: &str, ttl_seconds: u64) -> Self {
        PolicyCache {
            store,
            prefix: prefix.to_owned(),
            ttl: TimeDelta::seconds(i64::try_from(ttl_seconds).unwrap_or(i64::MAX / 1000)),
            params: Mutex::new(HashMap::new()),
            resolved: Mutex::new(HashMap::new()),
        }
    }

    /// The parameter store behind the cache.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The parameter name prefix, e.g. `/appflow-retry`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn params(&self) -> MutexGuard<'_, HashMap<String, Param>> {
        self.params.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The parameters' values, from the cache while fresh; the stale ones
    /// read in one call.
    async fn params_of(&self, names: [&str; 2], now: DateTime<Utc>) -> Result<[Option<String>; 2], PortError> {
        let fresh = |name: &str| {
            self.params()
                .get(name)
                .filter(|p| now - p.fetched < self.ttl)
                .map(|p| p.value.clone())
        };
        let stale: Vec<String> = names
            .iter()
            .filter(|n| fresh(n).is_none())
            .map(|n| (*n).to_owned())
            .collect();
        let mut read = HashMap::new();
        if !stale.is_empty() {
            let values = self.fetch(&stale, now).await?;
            read.extend(stale.into_iter().zip(values));
        }
        Ok(names.map(|n| read.get(n).cloned().or_else(|| fresh(n)).flatten()))
    }

    /// Reads `names` (at most [`NAMES_PER_READ`]) in one GetParameters call
    /// and caches them as read at `now`.
    async fn fetch(&self, names: &[String], now: DateTime<Utc>) -> Result<Vec<Option<String>>, PortError> {
        let values = self.store.get_many(names).await?;
        if values.len() != names.len() {
            return Err(PortError::Failed(format!(
                "SSM answered {} values for {} names",
                values.len(),
                names.len()
            )));
        }
        let mut params = self.params();
        for (name, value) in names.iter().zip(&values) {
            params.insert(
                name.clone(),
                Param {
                    value: value.clone(),
                    fetched: now,
                },
            );
        }
        Ok(values)
    }

    /// Reads the stale parameters of `flows` and the default, 10 names a
    /// GetParameters call ([`NAMES_PER_READ`]): a sweep loading many flows'
    /// policies one by one would spend two names' call per flow of SSM's
    /// shared 40 a second. Later [`load`](Self::load)s within the TTL read
    /// nothing. An error leaves those loads to read for themselves.
    pub async fn prefetch(&self, flows: &[&str], now: DateTime<Utc>) -> Result<(), PortError> {
        let mut names = vec![default_parameter(&self.prefix)];
        names.extend(flows.iter().map(|f| flow_parameter(&self.prefix, f)));
        names.sort();
        names.dedup();
        let stale: Vec<String> = {
            let params = self.params();
            names
                .into_iter()
                .filter(|n| params.get(n).is_none_or(|p| now - p.fetched >= self.ttl))
                .collect()
        };
        for chunk in stale.chunks(NAMES_PER_READ) {
            self.fetch(chunk, now).await?;
        }
        Ok(())
    }

    /// The policy for `flow` at `now`. Fails only when SSM cannot be read:
    /// deciding on a guessed policy could restart a flow whose policy says not to.
    pub async fn load(&self, flow: &str, now: DateTime<Utc>) -> Result<LoadedPolicy, PortError> {
        let default_name = default_parameter(&self.prefix);
        let flow_name = flow_parameter(&self.prefix, flow);
        let [default, flow_text] = self.params_of([&default_name, &flow_name], now).await?;

        let mut resolved = self.resolved.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = resolved
            .get(flow)
            .filter(|r| r.default == default && r.flow == flow_text)
        {
            return Ok(r.loaded.clone());
        }
        let policy = FlowPolicy::from_texts(
            flow,
            default.as_deref().map(|t| (default_name.as_str(), t)),
            flow_text.as_deref().map(|t| (flow_name.as_str(), t)),
        );
        let loaded = LoadedPolicy {
            policy: Arc::new(policy),
            default_missing: default.is_none(),
        };
        resolved.insert(
            flow.to_owned(),
            Resolved {
                default,
                flow: flow_text,
                loaded: loaded.clone(),
            },
        );
        Ok(loaded)
    }

    /// [`load`](Self::load), then the policy's problems logged and its
    /// metrics emitted: what every handler does with a policy it acts on.
    pub async fn load_reported(&self, flow: &str, now: DateTime<Utc>) -> Result<LoadedPolicy, PortError> {
        let loaded = self.load(flow, now).await?;
        crate::telemetry::policy_problems(flow, &loaded);
        crate::telemetry::emit(&crate::telemetry::policy_metrics(flow, &loaded, now.timestamp_millis()));
        Ok(loaded)
    }
}
