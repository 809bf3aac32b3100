//! Lambda `restart`: reads the restart queue the state machine fills after
//! the backoff (or is invoked by an execution started before it), re-checks
//! the flow, calls StartFlow and answers the waiting execution.

// The handler's future nests deeply (SDK calls inside the deadline guard).
#![recursion_limit = "256"]

use appflow_retry_lambda::{init_logging, restart_fn, restart_from_env};
use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let handler = restart_from_env().await?;
    let handler = &handler;
    run(service_fn(move |event| restart_fn(handler, event))).await
}
