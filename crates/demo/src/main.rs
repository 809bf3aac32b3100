//! `appflow-retry-demo [--scenario FILE] [--policies DIR] [--time-scale X] [--color auto|always|never]`

use std::path::PathBuf;
use std::process::ExitCode;

use appflow_retry_demo::scenario::Scenario;
use appflow_retry_demo::sim::{Style, play};
use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Parser)]
#[command(about = "Plays a failure scenario against the real appflow-retry code, on moto and the AppFlow emulator.")]
struct Args {
    /// The scenario (flows, their runs and the decisions expected).
    #[arg(long, default_value = "crates/demo/scenarios/default.yaml")]
    scenario: PathBuf,
    /// The policies published to SSM, as Terraform publishes them.
    #[arg(long, default_value = "policies")]
    policies: PathBuf,
    /// Wall seconds per simulated second; overrides the scenario's (0: no waiting).
    #[arg(long)]
    time_scale: Option<f64>,
    #[arg(long, value_enum, default_value = "auto")]
    color: Color,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let scenario = match Scenario::load(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("appflow-retry-demo: {e}");
            return ExitCode::from(2);
        }
    };
    // auto: the ecosystem's rules (anstream): a terminal, unless NO_COLOR
    // is set or TERM is dumb; CLICOLOR_FORCE forces colours into a pipe.
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never,
    };
    let scale = args.time_scale.unwrap_or(scenario.time_scale);
    let mut stdout = std::io::stdout();
    match play(&scenario, &args.policies, scale, Style { color }, &mut stdout).await {
        Ok((_, true)) => ExitCode::SUCCESS,
        Ok((_, false)) => {
            eprintln!("appflow-retry-demo: some outcomes differ from the scenario's expectations");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("appflow-retry-demo: {e}");
            ExitCode::from(2)
        }
    }
}
