//! Lambda `on-failure`: decides what to do with a failed AppFlow run and
//! starts the retry state machine.

// The handler's future nests deeply (SDK calls inside the deadline guard).
#![recursion_limit = "256"]

use appflow_retry_lambda::{init_logging, on_failure_fn, on_failure_from_env};
use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let handler = on_failure_from_env().await?;
    let handler = &handler;
    run(service_fn(move |event| on_failure_fn(handler, event))).await
}
