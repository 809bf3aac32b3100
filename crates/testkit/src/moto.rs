//! A moto server process (the Python AWS emulator) for integration tests.
//!
//! [`Moto::start`] runs `moto_server` on a free loopback port, waits until it
//! answers HTTP and configures it for this project (Step Functions state
//! machines are executed, Lambda functions are not run in Docker). Dropping
//! the [`Moto`] handle kills the process.
//!
//! The executable is looked up in this order:
//!
//! 1. the path in the `MOTO_SERVER` environment variable, if set;
//! 2. `<workspace root>/.venv/bin/moto_server`, the virtualenv created by
//!    `make venv` with the pinned moto version.
//!
//! Nothing here is global: each test binary decides whether to share one
//! server between its tests or to start one per test.
//!
//! ```no_run
//! use appflow_retry_testkit::moto::Moto;
//!
//! # fn main() -> Result<(), appflow_retry_testkit::Error> {
//! let moto = Moto::start()?;
//! // Point the AWS SDK at `moto.endpoint()` ...
//! moto.reset()?;
//! # Ok(())
//! # }
//! ```

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::Error;
use crate::ports::free_port;

/// Environment variable that overrides the location of `moto_server`.
pub const MOTO_SERVER_ENV: &str = "MOTO_SERVER";

/// How long [`Moto::start`] waits for the server to answer HTTP.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Delay between two readiness probes.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Timeout of one readiness probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Timeout of one request to moto's control API.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Number of log lines quoted in startup error messages.
const LOG_TAIL_LINES: usize = 30;

/// Region used for the canned Lambda results.
const REGION: &str = "us-east-1";

/// Distinguishes the log files of several servers started by one process.
static NEXT_LOG_ID: AtomicU64 = AtomicU64::new(0);

/// A running moto server, killed when dropped.
#[derive(Debug)]
pub struct Moto {
    /// Base URL, `http://127.0.0.1:PORT`.
    endpoint: String,
    /// The `moto_server` process.
    child: Child,
    /// File receiving the server's stdout and stderr; removed on drop.
    log_path: PathBuf,
    /// HTTP client for moto's control API (no proxy, statuses checked by hand).
    agent: ureq::Agent,
}

impl Moto {
    /// Starts a moto server on a free port of `127.0.0.1` and waits until it
    /// is ready.
    ///
    /// The server's output goes to a log file in the temporary directory,
    /// not to the test output; if the server does not come up within 60
    /// seconds, or exits, the error quotes the end of that log.
    ///
    /// Once the server answers, it is configured with
    /// `{"stepfunctions": {"execute_state_machine": true}, "lambda": {"use_docker": false}}`.
    ///
    /// # Errors
    ///
    /// Fails if `moto_server` cannot be found (the message says to run
    /// `make venv`), cannot be started, does not become ready, or rejects
    /// the configuration.
    pub fn start() -> Result<Moto, Error> {
        let executable = locate_moto_server()?;
        Self::start_command(Command::new(&executable), &executable)
    }

    /// [`Moto::start`] from async code: the blocking wait for the server
    /// runs on tokio's blocking pool.
    ///
    /// # Errors
    ///
    /// As [`Moto::start`].
    pub async fn start_async() -> Result<Moto, Error> {
        tokio::task::spawn_blocking(Moto::start)
            .await
            .map_err(|e| Error::new(format!("starting moto: {e}")))?
    }

    /// Like [`Moto::start`], but runs the Python script `script` with the
    /// Python of moto's virtualenv (`python` next to `moto_server`), passing
    /// it `moto_server`'s arguments (`-H 127.0.0.1 -p PORT`): for a script
    /// that adds to moto before starting its server (`tools/moto_shim.py`).
    ///
    /// # Errors
    ///
    /// As [`Moto::start`]; also fails if that Python does not exist.
    pub fn start_script(script: &Path) -> Result<Moto, Error> {
        Self::start_script_with_env(script, &[])
    }

    /// [`Moto::start_script`], with these environment variables set for the
    /// script (e.g. `tools/moto_shim.py`'s `MOTO_SHIM_AUTH_LOG`).
    ///
    /// # Errors
    ///
    /// As [`Moto::start_script`].
    pub fn start_script_with_env(script: &Path, env: &[(&str, &Path)]) -> Result<Moto, Error> {
        let python = moto_python()?;
        let mut command = Command::new(&python);
        command.arg(script);
        for (name, value) in env {
            command.env(name, value);
        }
        Self::start_command(command, &python)
    }

    /// Starts `command` (moto's server, arguments to come) on a free port.
    fn start_command(mut command: Command, executable: &Path) -> Result<Moto, Error> {
        let port = free_port().map_err(|e| Error::new(format!("no free port for moto: {e}")))?;
        let endpoint = format!("http://127.0.0.1:{port}");

        let log_path = std::env::temp_dir().join(format!(
            "appflow-retry-moto-{}-{}-{port}.log",
            std::process::id(),
            NEXT_LOG_ID.fetch_add(1, Ordering::Relaxed),
        ));
        let log = File::create(&log_path)
            .map_err(|e| Error::new(format!("cannot create moto log file {}: {e}", log_path.display())))?;
        let log_for_stderr = log
            .try_clone()
            .map_err(|e| Error::new(format!("cannot duplicate moto log file handle: {e}")))?;

        let child = command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // Flush Python's output at once so the log tail is up to date.
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_for_stderr))
            .spawn()
            .map_err(|e| {
                let _ = std::fs::remove_file(&log_path);
                Error::new(format!("cannot start {}: {e}", executable.display()))
            })?;

        // From here on, dropping `moto` (also on the error paths below) kills
        // the process and removes the log.
        let mut moto = Moto {
            endpoint,
            child,
            log_path,
            agent: ureq::Agent::config_builder()
                .proxy(None)
                .http_status_as_error(false)
                .timeout_global(Some(REQUEST_TIMEOUT))
                .build()
                .into(),
        };
        moto.wait_until_ready()?;
        moto.post_json(
            "/moto-api/config",
            &serde_json::json!({
                "stepfunctions": {"execute_state_machine": true},
                "lambda": {"use_docker": false},
            }),
        )?;
        Ok(moto)
    }

    /// Base URL of the server, `http://127.0.0.1:PORT`: the endpoint URL to
    /// give the AWS SDK clients.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Deletes every resource in the emulator (`POST /moto-api/reset`).
    ///
    /// Moto's configuration (set by [`Moto::start`]) is kept.
    ///
    /// # Errors
    ///
    /// Fails if the request fails or moto answers with a non-2xx status.
    pub fn reset(&self) -> Result<(), Error> {
        self.post_json("/moto-api/reset", &serde_json::json!({}))
    }

    /// Queues canned results for Lambda invocations.
    ///
    /// Without Docker, moto does not run Lambda code: each invocation in
    /// `us-east-1` returns the next queued payload, in order. Each value is
    /// sent as its JSON text
    /// (`POST /moto-api/static/lambda-simple/response`).
    ///
    /// # Errors
    ///
    /// Fails if the request fails or moto answers with a non-2xx status.
    pub fn queue_lambda_results(&self, results: &[serde_json::Value]) -> Result<(), Error> {
        let results: Vec<String> = results.iter().map(ToString::to_string).collect();
        self.post_json(
            "/moto-api/static/lambda-simple/response",
            &serde_json::json!({ "results": results, "region": REGION }),
        )
    }

    /// GETs `path` from moto as a call to `service` (its SigV4 signing name,
    /// e.g. `lambda`) and returns the JSON answer: for REST-JSON actions
    /// with no SDK client at hand, such as Lambda's
    /// `GET /2015-03-31/functions/{name}/configuration`. moto routes a
    /// request by the service in its credential scope and checks no
    /// signature, so the request carries a scope and no real signature.
    ///
    /// # Errors
    ///
    /// Fails if the request fails, moto answers with a non-2xx status, or
    /// the answer is not JSON.
    pub fn rest_get_json(&self, service: &str, path: &str) -> Result<serde_json::Value, Error> {
        self.rest_json("GET", service, path, None)
    }

    /// Sends `body` with PUT to a REST-JSON API path of moto, signed as
    /// [`Moto::rest_get_json`], and returns the JSON answer (e.g. Lambda's
    /// UpdateEventSourceMapping, which no SDK client here has).
    ///
    /// # Errors
    ///
    /// Fails if the request fails, moto answers with a non-2xx status, or
    /// the answer is not JSON.
    pub fn rest_put_json(
        &self,
        service: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, Error> {
        self.rest_json("PUT", service, path, Some(body))
    }

    fn rest_json(
        &self,
        method: &str,
        service: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, Error> {
        let url = format!("{}{path}", self.endpoint);
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/{service}/aws4_request, \
             SignedHeaders=host, Signature=0"
        );
        let sent = match body {
            None => self.agent.get(&url).header("Authorization", &authorization).call(),
            Some(body) => self
                .agent
                .put(&url)
                .header("Authorization", &authorization)
                .header("Content-Type", "application/json")
                .send(body.to_string()),
        };
        let mut response = sent.map_err(|e| Error::new(format!("{method} {url} failed: {e}")))?;
        let status = response.status();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        if !status.is_success() {
            return Err(Error::new(format!("{method} {url} answered {status}: {text}")));
        }
        serde_json::from_str(&text).map_err(|e| Error::new(format!("{method} {url}: not JSON ({e}): {text}")))
    }

    /// Creates an IAM role Lambda may assume and returns its ARN: moto
    /// refuses `CreateFunction` with a role it does not know. Sent as IAM's
    /// query protocol (no SDK client for IAM here), routed like
    /// [`Moto::rest_get_json`].
    ///
    /// # Errors
    ///
    /// Fails if the request fails or moto answers with a non-2xx status.
    pub fn create_lambda_role(&self, name: &str) -> Result<String, Error> {
        let url = format!("{}/", self.endpoint);
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/iam/aws4_request, \
             SignedHeaders=host, Signature=0"
        );
        let trust = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        })
        .to_string();
        let mut response = self
            .agent
            .post(&url)
            .header("Authorization", &authorization)
            .send_form([
                ("Action", "CreateRole"),
                ("Version", "2010-05-08"),
                ("RoleName", name),
                ("AssumeRolePolicyDocument", trust.as_str()),
            ])
            .map_err(|e| Error::new(format!("CreateRole {name} failed: {e}")))?;
        let status = response.status();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        if !status.is_success() {
            return Err(Error::new(format!("CreateRole {name} answered {status}: {text}")));
        }
        Ok(format!("arn:aws:iam::123456789012:role/{name}"))
    }

    /// Polls the server until it answers HTTP, the process exits, or the
    /// startup timeout expires.
    fn wait_until_ready(&mut self) -> Result<(), Error> {
        let url = format!("{}/moto-api/", self.endpoint);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    return Err(self.startup_error(&format!("moto_server exited early ({status})")));
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(self.startup_error(&format!("cannot check moto_server: {e}")));
                }
            }
            // Any HTTP answer, whatever its status, means the server is up.
            let probe = self
                .agent
                .get(&url)
                .config()
                .timeout_global(Some(PROBE_TIMEOUT))
                .build()
                .call();
            if probe.is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.startup_error(&format!(
                    "moto_server did not answer on {} within {} s",
                    self.endpoint,
                    STARTUP_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// An error for a failed startup, quoting the end of the server's log.
    fn startup_error(&self, what: &str) -> Error {
        Error::new(format!(
            "{what}; last lines of its log:\n{}",
            log_tail(&self.log_path, LOG_TAIL_LINES)
        ))
    }

    /// Sends `body` as JSON to `path` and checks for a 2xx status.
    fn post_json(&self, path: &str, body: &serde_json::Value) -> Result<(), Error> {
        let url = format!("{}{path}", self.endpoint);
        let mut response = self
            .agent
            .post(&url)
            .send_json(body)
            .map_err(|e| Error::new(format!("POST {url} failed: {e}")))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            let text = response.body_mut().read_to_string().unwrap_or_default();
            Err(Error::new(format!("POST {url} answered {status}: {text}")))
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Errors are ignored: the process may already have exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log_path);
    }
}

/// Finds the `moto_server` executable.
///
/// Uses the `MOTO_SERVER` environment variable if it is set, otherwise
/// `<workspace root>/.venv/bin/moto_server`.
///
/// # Errors
///
/// Fails with a message telling to run `make venv` if the executable does
/// not exist.
pub fn locate_moto_server() -> Result<PathBuf, Error> {
    locate_in(std::env::var_os(MOTO_SERVER_ENV), &workspace_root())
}

/// The Python of moto's virtualenv: `python` next to [`locate_moto_server`].
///
/// # Errors
///
/// Fails as [`locate_moto_server`] does, or if there is no `python` there.
pub fn moto_python() -> Result<PathBuf, Error> {
    let server = locate_moto_server()?;
    let python = server.with_file_name("python");
    if python.is_file() {
        Ok(python)
    } else {
        Err(Error::new(format!(
            "no python next to {}: run `make venv` to create the virtualenv with the pinned moto",
            server.display()
        )))
    }
}

/// [`locate_moto_server`] with the value of `MOTO_SERVER` and the workspace
/// root given.
fn locate_in(from_env: Option<std::ffi::OsString>, root: &Path) -> Result<PathBuf, Error> {
    if let Some(path) = from_env.filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(Error::new(format!(
                "{MOTO_SERVER_ENV} is set to {}, which does not exist; \
                 unset it and run `make venv` to install the pinned moto in .venv",
                path.display()
            )))
        };
    }
    let path = root.join(".venv").join("bin").join("moto_server");
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::new(format!(
            "moto_server not found at {}: run `make venv` in {} to install the pinned moto, \
             or set {MOTO_SERVER_ENV} to a moto_server executable",
            path.display(),
            root.display()
        )))
    }
}

/// The workspace root: two levels above this crate's manifest directory.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| manifest_dir.join("../.."), Path::to_path_buf)
}

/// The last `lines` lines of the file at `path`, or a note saying why it
/// cannot be read.
fn log_tail(path: &Path, lines: usize) -> String {
    let mut bytes = Vec::new();
    if let Err(e) = File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)) {
        return format!("(cannot read {}: {e})", path.display());
    }
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    if all.is_empty() {
        return "(empty)".to_owned();
    }
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(workspace_root().join("crates").join("testkit").is_dir());
    }

    #[test]
    fn locate_prefers_the_environment_variable() {
        let root = std::env::temp_dir().join("appflow-retry-testkit-no-such-workspace");
        // Any existing file will do.
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        assert_eq!(locate_in(Some(file.clone().into()), &root), Ok(file));
    }

    #[test]
    fn missing_executable_says_to_run_make_venv() {
        let root = std::env::temp_dir().join("appflow-retry-testkit-no-such-workspace");
        let error = locate_in(None, &root).unwrap_err();
        assert!(error.message().contains("make venv"), "{error}");
        assert!(error.message().contains(".venv/bin/moto_server"), "{error}");
        // An empty variable counts as unset.
        let error = locate_in(Some("".into()), &root).unwrap_err();
        assert!(error.message().contains("make venv"), "{error}");
        let error = locate_in(Some(root.join("moto_server").into()), &root).unwrap_err();
        assert!(error.message().contains("MOTO_SERVER"), "{error}");
        assert!(error.message().contains("make venv"), "{error}");
    }

    #[test]
    fn log_tail_keeps_the_last_lines() {
        let path = std::env::temp_dir().join(format!("appflow-retry-testkit-log-tail-{}.log", std::process::id()));
        std::fs::write(&path, "one\ntwo\nthree\n").expect("write the log");
        assert_eq!(log_tail(&path, 2), "two\nthree");
        assert_eq!(log_tail(&path, 10), "one\ntwo\nthree");
        let _ = std::fs::remove_file(&path);
        assert!(log_tail(&path, 2).starts_with("(cannot read"));
    }
}
