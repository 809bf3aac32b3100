//! `appflow-retry`: check policies and answer "what happens to this flow when it fails?".

use std::path::PathBuf;
use std::process::ExitCode;

use appflow_retry_cli::explain::{ExplainOptions, explain};
use appflow_retry_cli::redrive::{RedriveArgs, Targets, targets_from_terraform_dir};
use appflow_retry_cli::status::{Deployment, parse_since};
use appflow_retry_cli::{CliError, plan, redrive, status, validate};
use appflow_retry_policy::Diagnostic;
use appflow_retry_policy::appflow::parse_time;
use appflow_retry_policy::classify::builtin_table_markdown;
use appflow_retry_policy::schema::policy_schema_json;
use appflow_retry_runtime::operate::{
    CancelOutcome, DEFAULT_MAX_EXECUTIONS, DEFAULT_WIDTH, MAX_EXECUTIONS, StatusQuery, Target, render_status,
};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

/// `println!` through [`out`]: a closed stdout ends the program quietly.
macro_rules! outln {
    ($($arg:tt)*) => {
        out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` through [`out`].
macro_rules! outp {
    ($($arg:tt)*) => {
        out(format_args!($($arg)*))
    };
}

#[derive(Parser)]
#[command(
    name = "appflow-retry",
    version,
    about = "Retry policies for Amazon AppFlow flows: validate them, plan them, explain decisions, redrive parked failures, list and cancel pending restarts."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// After an AWS error's one line, the AWS SDK's whole text (as RUST_LOG does).
    #[arg(long, short, global = true)]
    verbose: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Check policy files: YAML, the JSON Schema, and the semantic rules.
    ///
    /// Prints every problem as file:line:column: message (with the line and a
    /// caret at a terminal) and exits 1 if there is any.
    #[command(after_help = "Examples:
  appflow-retry validate                       # ./policies
  appflow-retry validate policies/flows/salesforce-accounts.yaml
  appflow-retry validate --format github       # annotations in a GitHub workflow
  appflow-retry validate --check-flows --region eu-west-1")]
    Validate {
        /// Policy directories (default.yaml + flows/*.yaml) or single files.
        #[arg(default_value = "policies")]
        paths: Vec<PathBuf>,
        /// text: file:line:column lines on stderr; json: one document on
        /// stdout; github: GitHub Actions annotations on stdout.
        #[arg(long, value_enum, default_value = "text")]
        format: validate::Format,
        /// Also compare the files with the account's flows (ListFlows): a
        /// file for a flow that does not exist, flows without a file.
        #[arg(long)]
        check_flows: bool,
        /// The AWS region for --check-flows (default: the environment's).
        #[arg(long, requires = "check_flows")]
        region: Option<String>,
        /// The AWS profile for --check-flows.
        #[arg(long, requires = "check_flows")]
        profile: Option<String>,
        /// Send --check-flows' calls to this endpoint (an emulator).
        #[arg(long, requires = "check_flows")]
        endpoint_url: Option<String>,
    },
    /// Print the JSON Schema of a policy file.
    ///
    /// policies/schema.json is this output (`make schema` writes it).
    Schema,
    /// Print the restart schedule of a flow for one error class.
    ///
    /// With --diff REF: what a policy change does instead, for every flow
    /// whose behaviour differs between the policies at a git revision and
    /// the working tree (per error class: restarts and delays, notify,
    /// re-activation), as text, Markdown for a pull request, or JSON.
    #[command(after_help = "Examples:
  appflow-retry plan salesforce-accounts
  appflow-retry plan salesforce-accounts --class sf_api_limit --json
  appflow-retry plan nightly-orders-sync --trigger scheduled
  appflow-retry plan --diff main                         # this branch's policy changes
  appflow-retry plan --diff HEAD~1 --format markdown     # for a pull-request comment")]
    Plan {
        /// The AppFlow flow name (with --diff: only this flow).
        #[arg(required_unless_present = "diff")]
        flow: Option<String>,
        /// Compare with the policies at this git revision (branch, tag, commit).
        #[arg(long, value_name = "REF", conflicts_with_all = ["class", "trigger"])]
        diff: Option<String>,
        /// With --diff: text, markdown or json (default: text; --json: json).
        #[arg(long, value_enum, requires = "diff")]
        format: Option<DiffFormat>,
        #[arg(long, default_value = "policies")]
        policies: PathBuf,
        /// The error class (custom or built-in); default: a class without an override.
        #[arg(long)]
        class: Option<String>,
        /// How the flow runs: a scheduled or event flow is never restarted
        /// (its deactivations may be re-activated). Default: on-demand.
        #[arg(long, value_enum)]
        trigger: Option<plan::Trigger>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print the decision for a failed run or a deactivated flow, as JSON.
    ///
    /// The same decision the on-failure Lambda makes, from files: the event,
    /// the flow's run history and the policies.
    #[command(after_help = "Examples:
  aws appflow describe-flow-execution-records --flow-name salesforce-accounts > history.json
  appflow-retry explain --event event.json --history history.json --now 2026-11-29T09:10:00Z")]
    Explain {
        /// The EventBridge "AppFlow End Flow Run Report" event, or an "AppFlow
        /// Scheduled Flow Deactivated" / "AppFlow Event Flow Deactivated" event.
        #[arg(long)]
        event: PathBuf,
        /// What `aws appflow describe-flow-execution-records` printed for the flow.
        #[arg(long)]
        history: PathBuf,
        #[arg(long, default_value = "policies")]
        policies: PathBuf,
        /// The decision time (RFC 3339); default: now.
        #[arg(long, value_parser = parse_now)]
        now: Option<DateTime<Utc>>,
        /// Replaces the jitter seed derived from the execution id.
        #[arg(long)]
        seed: Option<u64>,
        /// For a deactivation event: the flow's flowErrorDeactivationThreshold
        /// (default: read from --describe-flow, else 1, as the Lambda).
        #[arg(long, conflicts_with = "describe_flow")]
        threshold: Option<u32>,
        /// For a deactivation event: what `aws appflow describe-flow` printed.
        #[arg(long)]
        describe_flow: Option<PathBuf>,
    },
    /// Print the built-in error classes as a Markdown table.
    Classes,
    /// Print a shell completion script.
    ///
    /// bash: `appflow-retry completions bash > ~/.local/share/bash-completion/completions/appflow-retry`;
    /// zsh: into a directory of your fpath as `_appflow-retry`;
    /// fish: `appflow-retry completions fish > ~/.config/fish/completions/appflow-retry.fish`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    ///
    /// Read it with `appflow-retry man | man -l -`.
    Man,
    /// Replay the failures parked in the dead-letter and errors queues.
    ///
    /// The rule's dead-letter queue and on-failure's errors queue: each
    /// message's original event is invoked on on-failure (asynchronously) and
    /// the message deleted once Lambda accepted it. Exits 1 when any message
    /// could not be handled (it stays in its queue).
    #[command(after_help = "Examples:
  appflow-retry redrive --terraform-dir terraform --dry-run
  appflow-retry redrive --terraform-dir terraform --max 20")]
    Redrive {
        /// The Terraform root module applied: its outputs name both queues
        /// and the function (`terraform output -json` is run there).
        #[arg(long, conflicts_with_all = ["dead_letter_queue_url", "errors_queue_url", "function_name"])]
        terraform_dir: Option<PathBuf>,
        /// The EventBridge rule's dead-letter queue (output `dead_letter_queue_url`).
        #[arg(long)]
        dead_letter_queue_url: Option<String>,
        /// on-failure's on-failure destination queue (output `on_failure_errors_queue_url`).
        #[arg(long)]
        errors_queue_url: Option<String>,
        /// The on-failure function's name or ARN (output `on_failure_function_name`).
        #[arg(long, required_unless_present = "terraform_dir")]
        function_name: Option<String>,
        /// List what would be redriven; invoke nothing, delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Handle at most N messages in all (dead-letter queue first).
        #[arg(long, value_name = "N")]
        max: Option<usize>,
        /// How long a received message stays hidden: a redrive that stops
        /// half-way leaves its messages to reappear after this.
        #[arg(long, value_name = "SECONDS", default_value_t = appflow_retry_runtime::redrive::DEFAULT_VISIBILITY_TIMEOUT_SECONDS, value_parser = clap::value_parser!(u32).range(1..=43200))]
        visibility_timeout: u32,
        /// The AWS region (default: the queues' own, from their URLs).
        #[arg(long)]
        region: Option<String>,
        /// Send every AWS call to this endpoint (an emulator).
        #[arg(long)]
        endpoint_url: Option<String>,
        /// The AWS profile (default: the default profile).
        #[arg(long, env = "AWS_PROFILE")]
        profile: Option<String>,
    },
    /// List pending restarts and recent decisions.
    ///
    /// Pending restarts are executions waiting out their backoff; both are
    /// read from the retry state machine's executions.
    #[command(after_help = "Examples:
  appflow-retry status --terraform-dir terraform
  appflow-retry status --state-machine-arn arn:aws:states:eu-west-1:123456789012:stateMachine:appflow-retry-retry --flow salesforce-accounts --since 2h")]
    Status {
        #[command(flatten)]
        deployment: DeploymentArgs,
        /// Only this flow.
        #[arg(long)]
        flow: Option<String>,
        /// Recent decisions since this: a duration back from now (2h, 30m, 1d) or an RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Show at most N recent decisions (newest first).
        #[arg(long, value_name = "N", default_value_t = 20)]
        last: usize,
        /// Examine at most N executions per listing (running ones, then all).
        #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_EXECUTIONS, value_parser = parse_max_executions)]
        max_executions: usize,
        /// Print one JSON document instead of the tables.
        #[arg(long)]
        json: bool,
        /// The time relative times and `--since` count from (RFC 3339);
        /// default: now. Hidden: for tests and reproducible reports.
        #[arg(long, hide = true, value_parser = parse_now)]
        now: Option<DateTime<Utc>>,
    },
    /// Stop pending restarts of a flow, or one execution.
    ///
    /// StopExecution with the error `Cancelled` and a cause naming who and
    /// why. An execution past its Wait is refused: its restart may have
    /// called StartFlow already. Exits 1 when any was refused or could not
    /// be stopped.
    #[command(after_help = "Examples:
  appflow-retry cancel --terraform-dir terraform --flow salesforce-accounts --dry-run
  appflow-retry cancel --terraform-dir terraform --flow salesforce-accounts --reason \"connector maintenance\"")]
    Cancel {
        #[command(flatten)]
        deployment: DeploymentArgs,
        /// Every pending restart of this flow.
        #[arg(long, required_unless_present = "execution", conflicts_with = "execution")]
        flow: Option<String>,
        /// Exactly this execution (its name, as `status` prints it).
        #[arg(long)]
        execution: Option<String>,
        /// Why; recorded in the execution's stop cause with who cancelled
        /// (default: "cancelled by <user> with appflow-retry cancel").
        #[arg(long)]
        reason: Option<String>,
        /// List what would be stopped; stop nothing.
        #[arg(long)]
        dry_run: bool,
        /// Examine at most N running executions (with --flow).
        #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_EXECUTIONS, value_parser = parse_max_executions)]
        max_executions: usize,
        /// Print one JSON array instead of lines.
        #[arg(long)]
        json: bool,
    },
}

/// How `plan --diff` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DiffFormat {
    /// One line per change: `flow / classes: before → after`.
    Text,
    /// A heading and a table, for a pull-request comment.
    Markdown,
    /// One JSON document.
    Json,
}

/// Where the retry state machine is, and how to reach AWS.
#[derive(clap::Args)]
struct DeploymentArgs {
    /// The retry state machine (from the variable only when --terraform-dir is not given).
    #[arg(long, env = appflow_retry_cli::status::STATE_MACHINE_ENV)]
    state_machine_arn: Option<String>,
    /// The Terraform root module applied: its output `state_machine_arn`
    /// (`terraform output -json` is run there).
    #[arg(long)]
    terraform_dir: Option<PathBuf>,
    /// The AWS region (default: the state machine's own, from its ARN).
    #[arg(long)]
    region: Option<String>,
    /// Send every AWS call to this endpoint (an emulator).
    #[arg(long)]
    endpoint_url: Option<String>,
    /// The AWS profile (default: the default profile).
    #[arg(long, env = "AWS_PROFILE")]
    profile: Option<String>,
}

impl DeploymentArgs {
    /// `arn_from_env`: `--state-machine-arn` came from the variable, which
    /// an explicit `--terraform-dir` overrides (flags before the environment).
    fn into_deployment(self, verbose: bool, arn_from_env: bool) -> Result<Deployment, CliError> {
        let state_machine_arn = match (&self.state_machine_arn, &self.terraform_dir) {
            (Some(_), Some(_)) if arn_from_env => None,
            (Some(_), Some(_)) => {
                return Err(CliError(
                    "--state-machine-arn and --terraform-dir both name the state machine: give one".to_owned(),
                ));
            }
            _ => self.state_machine_arn,
        };
        Ok(Deployment {
            state_machine_arn,
            terraform_dir: self.terraform_dir,
            region: self.region,
            endpoint_url: self.endpoint_url,
            profile: self.profile,
            verbose,
        })
    }
}

fn async_runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError(format!("cannot start the async runtime: {e}")))
}

/// The terminal's width (`COLUMNS`), else [`DEFAULT_WIDTH`].
fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|w: &usize| *w >= 40)
        .unwrap_or(DEFAULT_WIDTH)
}

fn parse_max_executions(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX_EXECUTIONS).contains(&n) => Ok(n),
        _ => Err(format!("a number from 1 to {MAX_EXECUTIONS}")),
    }
}

fn parse_now(s: &str) -> Result<DateTime<Utc>, String> {
    parse_time(s)
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

fn warn_problems(diags: &[Diagnostic]) {
    for d in diags {
        eprintln!("warning: {d}");
    }
    if !diags.is_empty() {
        eprintln!(
            "warning: as in the Lambda, a flow whose file (or whose default) has problems is not restarted: its failures are skipped and notified"
        );
    }
}

/// Whether the subcommand's `--state-machine-arn` was read from its variable.
fn arn_from_env(matches: &clap::ArgMatches) -> bool {
    matches.subcommand().is_some_and(|(_, sub)| {
        sub.ids().any(|id| id == "state_machine_arn")
            && sub.value_source("state_machine_arn") == Some(clap::parser::ValueSource::EnvVariable)
    })
}

fn run(cli: Cli, arn_from_env: bool) -> Result<ExitCode, CliError> {
    let verbose = cli.verbose || std::env::var_os("RUST_LOG").is_some();
    match cli.command {
        Command::Validate {
            paths,
            format,
            check_flows,
            region,
            profile,
            endpoint_url,
        } => {
            let refs: Vec<&std::path::Path> = paths.iter().map(PathBuf::as_path).collect();
            let report = validate::validate_paths(&refs)?;
            let diags = &report.diagnostics;
            let code = if diags.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            };
            let flows = if check_flows {
                let conn = appflow_retry_cli::check_flows::Connection {
                    region,
                    endpoint_url,
                    profile,
                    verbose,
                };
                Some(async_runtime()?.block_on(appflow_retry_cli::check_flows::check_flows(&conn, &report.governed))?)
            } else {
                None
            };
            let flow_warnings = flows
                .as_ref()
                .map(appflow_retry_cli::check_flows::warnings)
                .unwrap_or_default();
            match format {
                validate::Format::Json => {
                    let mut doc: serde_json::Value =
                        serde_json::from_str(&validate::render_json(&report)).map_err(|e| CliError(e.to_string()))?;
                    if let Some(f) = &flows {
                        doc["flows"] = serde_json::to_value(f).map_err(|e| CliError(e.to_string()))?;
                    }
                    outln!("{doc}");
                    return Ok(code);
                }
                validate::Format::Github => {
                    outp!("{}", validate::render_github(&report));
                    for w in &flow_warnings {
                        outln!(
                            "::warning title=appflow-retry validate --check-flows::{}",
                            w.replace('%', "%25")
                        );
                    }
                    return Ok(code);
                }
                validate::Format::Text => {
                    for w in &flow_warnings {
                        eprintln!("warning: {w}");
                    }
                }
            }
            // At a terminal, each problem with its line and a caret; the
            // one-line form alone for CI and editors.
            let excerpts = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let mut texts: std::collections::HashMap<&str, Option<String>> = std::collections::HashMap::new();
            for d in diags {
                eprintln!("{d}");
                if excerpts {
                    let text = texts
                        .entry(d.file.as_str())
                        .or_insert_with(|| std::fs::read_to_string(&d.file).ok());
                    if let Some(excerpt) = text.as_deref().and_then(|t| validate::source_excerpt(t, d.position)) {
                        eprintln!("{excerpt}");
                    }
                }
            }
            for u in &report.unread {
                eprintln!("warning: {u}");
            }
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            let files = plural(report.files_checked, "policy file");
            let unread = match report.unread.len() {
                0 => String::new(),
                1 => " (1 file or folder not read: see the warning)".to_owned(),
                n => format!(" ({n} files or folders not read: see the warnings)"),
            };
            if diags.is_empty() {
                outln!("ok: {files} valid{unread}");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("{} in {files}", plural(diags.len(), "problem"));
                Ok(ExitCode::from(1))
            }
        }
        Command::Schema => {
            outp!("{}", policy_schema_json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan {
            flow,
            diff,
            format,
            policies,
            class,
            trigger,
            json,
        } => {
            if let Some(rev) = diff {
                let d = appflow_retry_cli::plan_diff::diff(&rev, &policies, flow.as_deref())?;
                let format = format.unwrap_or(if json { DiffFormat::Json } else { DiffFormat::Text });
                match format {
                    DiffFormat::Text => outp!("{}", appflow_retry_cli::plan_diff::render_text(&d)),
                    DiffFormat::Markdown => outp!("{}", appflow_retry_cli::plan_diff::render_markdown(&d)),
                    DiffFormat::Json => outln!(
                        "{}",
                        serde_json::to_string_pretty(&d).map_err(|e| CliError(e.to_string()))?
                    ),
                }
                return Ok(ExitCode::SUCCESS);
            }
            let Some(flow) = flow else {
                return Err(CliError("plan: give a flow name, or --diff REF".to_owned()));
            };
            let (p, notes) = plan::plan(&flow, &policies, class.as_deref(), trigger)?;
            warn_problems(&notes.diagnostics);
            for n in &notes.notes {
                eprintln!("note: {n}");
            }
            if json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&p).map_err(|e| CliError(e.to_string()))?
                );
            } else {
                outp!("{}", plan::render(&p, width()));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain {
            event,
            history,
            policies,
            now,
            seed,
            threshold,
            describe_flow,
        } => {
            let threshold = match (threshold, describe_flow) {
                (Some(n), _) => Some(n),
                (None, Some(path)) => Some(
                    appflow_retry_cli::explain::threshold_from_describe_flow(&appflow_retry_cli::files::read_json(
                        &path,
                    )?)
                    .ok_or_else(|| {
                        CliError(format!(
                            "{}: no triggerConfig.triggerProperties.Scheduled.flowErrorDeactivationThreshold and not an event flow",
                            path.display()
                        ))
                    })?,
                ),
                (None, None) => None,
            };
            let opts = ExplainOptions {
                now: now.unwrap_or_else(Utc::now),
                seed,
                threshold,
            };
            let (decision, notes) = explain(&event, &history, &policies, opts)?;
            warn_problems(&notes.diagnostics);
            for n in &notes.notes {
                eprintln!("note: {n}");
            }
            outln!(
                "{}",
                serde_json::to_string_pretty(&decision).map_err(|e| CliError(e.to_string()))?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Classes => {
            outp!("{}", builtin_table_markdown());
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "appflow-retry",
                &mut script,
            );
            outp!("{}", String::from_utf8_lossy(&script));
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut page)
                .map_err(|e| CliError(format!("cannot render the manual page: {e}")))?;
            outp!("{}", String::from_utf8_lossy(&page));
            Ok(ExitCode::SUCCESS)
        }
        Command::Redrive {
            terraform_dir,
            dead_letter_queue_url,
            errors_queue_url,
            function_name,
            dry_run,
            max,
            visibility_timeout,
            region,
            endpoint_url,
            profile,
        } => {
            let targets = match terraform_dir {
                Some(dir) => targets_from_terraform_dir(&dir)?,
                None => Targets {
                    dead_letter_queue_url,
                    errors_queue_url,
                    function_name: function_name.unwrap_or_default(),
                },
            };
            let args = RedriveArgs {
                targets,
                options: appflow_retry_runtime::redrive::Options {
                    dry_run,
                    max,
                    visibility_timeout_seconds: visibility_timeout,
                },
                region,
                endpoint_url,
                profile,
            };
            let runtime = async_runtime()?;
            let report = runtime.block_on(redrive::redrive(&args))?;
            for line in &report.lines {
                outln!("{line}");
            }
            for pass in &report.passes {
                outln!("{pass}");
            }
            if report.release_errors > 0 {
                eprintln!(
                    "warning: {} message(s) left in place could not be made visible again; they reappear after {visibility_timeout}s",
                    report.release_errors
                );
            }
            outln!("{}", report.summary());
            Ok(if report.is_success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Status {
            deployment,
            flow,
            since,
            last,
            max_executions,
            json,
            now,
        } => {
            let now = now.unwrap_or_else(Utc::now);
            let since = since.map(|s| parse_since(&s, now)).transpose()?;
            let query = StatusQuery {
                flow,
                since,
                max_executions,
                last,
            };
            let s = async_runtime()?.block_on(status::status(
                &deployment.into_deployment(verbose, arn_from_env)?,
                &query,
                now,
            ))?;
            if json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&s).map_err(|e| CliError(e.to_string()))?
                );
            } else {
                outp!("{}", render_status(&s, width()));
                if query.flow.is_some()
                    && let Some(t) = status::timeline(&s, width())
                {
                    outp!("\n{t}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Cancel {
            deployment,
            flow,
            execution,
            reason,
            dry_run,
            max_executions,
            json,
        } => {
            let target = match (execution, flow) {
                (Some(name), _) => Target::Execution(name),
                (None, Some(flow)) => Target::Flow(flow),
                (None, None) => return Err(CliError("give --flow or --execution".into())),
            };
            let (lines, truncated) = async_runtime()?.block_on(status::cancel(
                &deployment.into_deployment(verbose, arn_from_env)?,
                &target,
                reason.as_deref(),
                dry_run,
                max_executions,
            ))?;
            if json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&lines).map_err(|e| CliError(e.to_string()))?
                );
            } else if lines.is_empty() {
                if let Target::Flow(flow) = &target {
                    outln!("no pending restart of flow {flow}");
                }
            } else {
                for line in &lines {
                    outln!("{}", line.render());
                }
            }
            if truncated {
                eprintln!(
                    "warning: only the newest {max_executions} running executions were examined: raise --max-executions to reach older ones"
                );
            }
            let all_done = !truncated
                && lines
                    .iter()
                    .all(|l| matches!(l.outcome, CancelOutcome::Stopped | CancelOutcome::WouldStop));
            Ok(if all_done { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}

/// Writes to stdout. A reader that went away (`| head`) ends the
/// program at once, quietly and successfully, as Unix filters do; `println!`
/// would panic ("failed printing to stdout: Broken pipe", exit 101).
fn out(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("appflow-retry: cannot write the output: {e}");
        std::process::exit(2);
    }
}

fn main() -> ExitCode {
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match run(cli, arn_from_env(&matches)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("appflow-retry: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod help_tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_command_is_summed_up_in_one_short_line() {
        let cmd = Cli::command();
        for sub in cmd.get_subcommands() {
            let about = sub.get_about().map(ToString::to_string).unwrap_or_default();
            assert!(!about.is_empty(), "{} has no summary", sub.get_name());
            assert!(
                about.len() <= 72 && !about.contains('\n'),
                "{}: the summary is one line of at most 72 characters, the details go after a blank line: {about}",
                sub.get_name()
            );
        }
    }

    #[test]
    fn the_variables_a_flag_reads_are_shown_by_its_help() {
        let cmd = Cli::command();
        for name in ["status", "cancel", "redrive"] {
            let Some(sub) = cmd.find_subcommand(name) else {
                unreachable!("{name} is a subcommand")
            };
            let envs: Vec<String> = sub
                .get_arguments()
                .filter_map(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()))
                .collect();
            assert!(envs.contains(&"AWS_PROFILE".to_owned()), "{name}: {envs:?}");
            if name != "redrive" {
                assert!(
                    envs.contains(&appflow_retry_cli::status::STATE_MACHINE_ENV.to_owned()),
                    "{name}: {envs:?}"
                );
            }
        }
    }

    /// A line's words, quotes kept together (enough for the examples).
    fn words(line: &str) -> Vec<String> {
        let line = line.split(" # ").next().unwrap_or(line);
        let mut out = Vec::new();
        let mut word = String::new();
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ' ' if !quoted => {
                    if !word.is_empty() {
                        out.push(std::mem::take(&mut word));
                    }
                }
                c => word.push(c),
            }
        }
        if !word.is_empty() {
            out.push(word);
        }
        out
    }

    #[test]
    fn every_example_in_the_help_parses() {
        let mut checked = 0;
        for sub in Cli::command().get_subcommands() {
            let Some(help) = sub.get_after_help() else { continue };
            for line in help.to_string().lines() {
                let Some(example) = line.trim().strip_prefix("appflow-retry ") else {
                    continue;
                };
                let mut args = vec!["appflow-retry".to_owned()];
                args.extend(words(example));
                if let Err(e) = Cli::try_parse_from(&args) {
                    panic!("{}: {line}\n{e}", sub.get_name());
                }
                checked += 1;
            }
        }
        assert!(checked >= 12, "{checked} examples");
    }
}
