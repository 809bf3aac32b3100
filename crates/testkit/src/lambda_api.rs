//! A minimal local AWS Lambda Runtime API.
//!
//! A Lambda binary built with the `lambda_runtime` crate does not listen for
//! requests: it long-polls the
//! [Runtime API](https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html)
//! at `$AWS_LAMBDA_RUNTIME_API` for the next event and posts the result
//! back. [`RuntimeApi`] serves that API on `127.0.0.1`, so tests and
//! benchmarks can run the real Lambda binaries on this machine and call
//! them with [`RuntimeApi::invoke`].
//!
//! Served routes:
//!
//! | Route | Answer |
//! |---|---|
//! | `GET /2018-06-01/runtime/invocation/next` | waits for an invocation; `200` with the payload and the `Lambda-Runtime-*` headers |
//! | `POST /2018-06-01/runtime/invocation/{id}/response` | `202`; the JSON body is the result of invocation `id` |
//! | `POST /2018-06-01/runtime/invocation/{id}/error` | `202`; the body `{"errorType", "errorMessage"}` is the error of invocation `id` |
//! | `POST /2018-06-01/runtime/init/error` | `202`; every pending and future invocation fails with this error |
//!
//! Request ids are deterministic: `req-1`, `req-2`, ... in invocation order.
//!
//! ```no_run
//! use appflow_retry_testkit::lambda_api::RuntimeApi;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let api = RuntimeApi::start().await?;
//! let _function = api.spawn_function(std::path::Path::new("target/debug/my-lambda"), &[("RUST_LOG", "info")])?;
//! let _output = api.invoke(serde_json::json!({"detail": {}})).await?;
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};

/// ARN sent in the `Lambda-Runtime-Invoked-Function-Arn` header.
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:local";

/// Value of the `Lambda-Runtime-Trace-Id` header.
pub const TRACE_ID: &str = "Root=1-00000000-000000000000000000000000";

/// Time given to each invocation, announced in `Lambda-Runtime-Deadline-Ms`.
pub const INVOCATION_TIMEOUT: Duration = Duration::from_secs(300);

/// Largest request body accepted (Lambda's synchronous payload limit is 6 MB).
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Error reported by the function for one invocation, or by its
/// initialization (`/runtime/init/error`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvocationError {
    /// The `errorType` field: for a `lambda_runtime` function, the Rust type
    /// name of its error unless the function chose another.
    #[serde(default)]
    pub error_type: String,
    /// The `errorMessage` field.
    #[serde(default)]
    pub error_message: String,
}

impl InvocationError {
    /// Creates an error from its type and message.
    pub fn new(error_type: impl Into<String>, error_message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.into(),
            error_message: error_message.into(),
        }
    }
}

impl fmt::Display for InvocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.error_message)
    }
}

impl std::error::Error for InvocationError {}

/// What an invocation ends with.
type Outcome = Result<Value, InvocationError>;

/// One queued invocation, waiting for the function to fetch it.
#[derive(Debug)]
struct Invocation {
    id: String,
    payload: Value,
}

/// Bookkeeping shared by [`RuntimeApi::invoke`] and the route handlers.
#[derive(Debug, Default)]
struct Book {
    /// Number of invocations so far (the last request id is `req-{count}`).
    count: u64,
    /// Invocations not answered yet, by request id.
    pending: HashMap<String, oneshot::Sender<Outcome>>,
    /// Set once the function reported an initialization error.
    init_error: Option<InvocationError>,
}

/// State shared between the handle and the HTTP server.
#[derive(Debug)]
struct Shared {
    book: Mutex<Book>,
    queue_tx: mpsc::UnboundedSender<Invocation>,
    /// Only one `/next` long-poll reads the queue at a time.
    queue_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    /// Becomes `true` when the [`RuntimeApi`] is dropped.
    stopping: watch::Receiver<bool>,
}

impl Shared {
    /// Locks the bookkeeping; a poisoned lock is still usable here.
    fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A local Lambda Runtime API server on `127.0.0.1`.
///
/// Dropping the handle stops the server: open `/next` long-polls are
/// answered with a `500` so the function process sees the API is gone.
#[derive(Debug)]
pub struct RuntimeApi {
    address: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

impl RuntimeApi {
    /// Starts the server on a free port of `127.0.0.1`.
    ///
    /// Must be called within a tokio runtime; the server runs as a task of
    /// that runtime.
    ///
    /// # Errors
    ///
    /// Fails if no loopback port can be bound.
    pub async fn start() -> std::io::Result<RuntimeApi> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = listener.local_addr()?;

        let (stop, stopping) = watch::channel(false);
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            book: Mutex::new(Book::default()),
            queue_tx,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            stopping: stopping.clone(),
        });

        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(invocation_response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(invocation_error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(Arc::clone(&shared));

        let mut shutdown = stopping;
        tokio::spawn(async move {
            // The server can only fail while accepting; nothing to report to
            // at that point, the invocations will simply not be answered.
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    // Returns when `stop` is set or dropped.
                    let _ = shutdown.wait_for(|stopping| *stopping).await;
                })
                .await;
        });

        Ok(RuntimeApi { address, shared, stop })
    }

    /// The server's address, `127.0.0.1:PORT`: the value of the
    /// `AWS_LAMBDA_RUNTIME_API` variable for the function.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Queues one invocation with `payload` as the event and waits for the
    /// function's answer.
    ///
    /// There is no timeout: wrap the call in [`tokio::time::timeout`] if the
    /// function may never answer. Cancelling the call does not take the
    /// invocation out of the queue.
    ///
    /// # Errors
    ///
    /// The error the function reported for this invocation, or its
    /// initialization error (in which case no invocation is queued).
    pub async fn invoke(&self, payload: Value) -> Result<Value, InvocationError> {
        let (answer_tx, answer_rx) = oneshot::channel();
        let id = {
            let mut book = self.shared.book();
            if let Some(error) = &book.init_error {
                return Err(error.clone());
            }
            book.count += 1;
            let id = format!("req-{}", book.count);
            book.pending.insert(id.clone(), answer_tx);
            id
        };
        if self.shared.queue_tx.send(Invocation { id, payload }).is_err() {
            return Err(InvocationError::new(
                "Runtime.Unavailable",
                "the invocation queue is closed",
            ));
        }
        answer_rx.await.unwrap_or_else(|_| {
            Err(InvocationError::new(
                "Runtime.Unavailable",
                "the Runtime API dropped the invocation",
            ))
        })
    }

    /// A command that runs the Lambda binary at `binary` against this
    /// server, for callers that want to adjust it (e.g. its stdout) before
    /// spawning it.
    ///
    /// Sets `AWS_LAMBDA_RUNTIME_API` to [`RuntimeApi::address`] and the usual
    /// Lambda variables (`AWS_LAMBDA_FUNCTION_NAME=local`,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128`,
    /// `AWS_LAMBDA_FUNCTION_VERSION=$LATEST`, `AWS_LAMBDA_LOG_GROUP_NAME`,
    /// `AWS_LAMBDA_LOG_STREAM_NAME`, `AWS_REGION=us-east-1`,
    /// `AWS_DEFAULT_REGION=us-east-1`), then `env`, which may override
    /// them. The rest of the environment is inherited. Stdin is closed;
    /// stdout and stderr are inherited. The process is killed when its
    /// [`tokio::process::Child`] is dropped.
    pub fn function_command(&self, binary: &Path, env: &[(&str, &str)]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(binary);
        command
            .env("AWS_LAMBDA_RUNTIME_API", self.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", "local")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/local")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Starts the Lambda binary at `binary` against this server; see
    /// [`RuntimeApi::function_command`] for its environment.
    ///
    /// Must be called within a tokio runtime. The process is killed when
    /// the returned child is dropped.
    ///
    /// # Errors
    ///
    /// Fails if the binary cannot be started.
    pub fn spawn_function(&self, binary: &Path, env: &[(&str, &str)]) -> std::io::Result<tokio::process::Child> {
        self.function_command(binary, env).spawn()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // Ends the open long-polls and shuts the server down gracefully.
        self.stop.send_replace(true);
    }
}

/// `GET /2018-06-01/runtime/invocation/next`: waits for the next
/// invocation and hands it to the function.
async fn next_invocation(State(shared): State<Arc<Shared>>) -> Response {
    let mut stopping = shared.stopping.clone();
    loop {
        let invocation = tokio::select! {
            // Both branches are cancel-safe: no invocation is lost if the
            // other one wins or the client goes away.
            invocation = async { shared.queue_rx.lock().await.recv().await } => invocation,
            _ = stopping.wait_for(|stopping| *stopping) => None,
        };
        let Some(invocation) = invocation else {
            return runtime_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                "the Runtime API is shutting down",
            );
        };
        // Skip invocations already failed by an initialization error.
        if !shared.book().pending.contains_key(&invocation.id) {
            continue;
        }
        let deadline_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_add(INVOCATION_TIMEOUT)
            .as_millis();
        let headers = [
            ("Lambda-Runtime-Aws-Request-Id", invocation.id),
            ("Lambda-Runtime-Deadline-Ms", deadline_ms.to_string()),
            ("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN.to_owned()),
            ("Lambda-Runtime-Trace-Id", TRACE_ID.to_owned()),
        ];
        return (StatusCode::OK, headers, axum::Json(invocation.payload)).into_response();
    }
}

/// `POST /2018-06-01/runtime/invocation/{id}/response`: the function's
/// result for invocation `id`.
async fn invocation_response(State(shared): State<Arc<Shared>>, UrlPath(id): UrlPath<String>, body: Bytes) -> Response {
    let outcome = serde_json::from_slice(&body).map_err(|error| {
        InvocationError::new(
            "Runtime.InvalidResponse",
            format!("the function's response is not JSON: {error}"),
        )
    });
    complete(&shared, &id, outcome)
}

/// `POST /2018-06-01/runtime/invocation/{id}/error`: the function's error
/// for invocation `id`.
async fn invocation_error(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    complete(&shared, &id, Err(parse_error_report(&headers, &body)))
}

/// `POST /2018-06-01/runtime/init/error`: the function failed to
/// initialize; every pending and future invocation fails with its error.
async fn init_error(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let error = parse_error_report(&headers, &body);
    let pending = {
        let mut book = shared.book();
        book.init_error = Some(error.clone());
        std::mem::take(&mut book.pending)
    };
    for (_, answer) in pending {
        // The caller may have given up waiting; nothing to do then.
        let _ = answer.send(Err(error.clone()));
    }
    accepted()
}

/// Delivers the outcome of invocation `id` to its caller.
fn complete(shared: &Shared, id: &str, outcome: Outcome) -> Response {
    let Some(answer) = shared.book().pending.remove(id) else {
        return runtime_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            &format!("no pending invocation has the request id {id:?}"),
        );
    };
    // The caller may have given up waiting; nothing to do then.
    let _ = answer.send(outcome);
    accepted()
}

/// Reads an error report `{"errorType": ..., "errorMessage": ...}`. A body
/// that is not such a report becomes the message, with the type taken from
/// the `Lambda-Runtime-Function-Error-Type` header.
fn parse_error_report(headers: &HeaderMap, body: &[u8]) -> InvocationError {
    serde_json::from_slice(body).unwrap_or_else(|_| {
        let error_type = headers
            .get("lambda-runtime-function-error-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("Unknown");
        InvocationError::new(error_type, String::from_utf8_lossy(body))
    })
}

/// The Runtime API's answer to an accepted report.
fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

/// An error answer in the Runtime API's format.
fn runtime_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"errorType": error_type, "errorMessage": message})),
    )
        .into_response()
}
