//! Lambda `restart`: invoked by the state machine after the backoff,
//! re-checks the flow and calls StartFlow.

use appflow_retry_lambda::{NamedError, init_logging, restart_from_env};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let handler = restart_from_env().await?;
    let handler = &handler;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        handler.handle(&event.payload).await.map_err(NamedError::from)
    }))
    .await
}
