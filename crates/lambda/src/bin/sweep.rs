//! Lambda `sweep`: on a schedule, decides the failed on-demand runs whose
//! EventBridge event never arrived (docs/design.md §5.9).

// The handler's future nests deeply (SDK calls inside the deadline guard).
#![recursion_limit = "256"]

use appflow_retry_lambda::{init_logging, sweep_fn, sweep_from_env};
use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let handler = sweep_from_env().await?;
    let handler = &handler;
    run(service_fn(move |event| sweep_fn(handler, event))).await
}
