//! The driver shared by the example binaries: a small command line (`plan`, `apply`,
//! `destroy`, `demo`), progress display, and the plan / apply / re-plan / outputs / destroy
//! cycle. Copy an example binary as the starting point of your own deploy tool.
#![warn(missing_docs)]

mod progress;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use skyforge::core::{Context, Environment, Error, Plan, Stack, Stage};

pub use progress::init_output;

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// `plan`, `apply`, `destroy` or `demo` (apply, re-plan, outputs, destroy).
    pub command: Command,
    /// The environment (project, stage, owner, region).
    pub env: Environment,
    /// Write the stack outputs as JSON here after apply.
    pub outputs: Option<PathBuf>,
    /// Print plans as JSON instead of text.
    pub json: bool,
}

/// The subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Show what apply would do.
    Plan,
    /// Plan and apply, then print the outputs.
    Apply,
    /// Plan and apply the destruction of everything the stack owns.
    Destroy,
    /// Apply, plan again (must show no changes), print outputs, destroy.
    Demo,
}

const USAGE: &str = "usage: <binary> [plan|apply|destroy|demo] [--project NAME] [--stage staging|prod|NAME] [--owner ID] [--region REGION] [--outputs FILE] [--json]";

/// Parse `std::env::args()`; `project` and `stage` are the binary's defaults.
pub fn parse_args(default_project: &str, default_stage: Stage) -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut command = Command::Demo;
    let (mut project, mut stage) = (default_project.to_string(), default_stage);
    let (mut owner, mut region, mut outputs, mut json) = (None, None, None, false);
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "plan" => command = Command::Plan,
            "apply" => command = Command::Apply,
            "destroy" => command = Command::Destroy,
            "demo" => command = Command::Demo,
            "--project" => project = value("--project")?,
            "--stage" => stage = Stage::parse(&value("--stage")?).map_err(|e| e.to_string())?,
            "--owner" => owner = Some(value("--owner")?),
            "--region" => region = Some(value("--region")?),
            "--outputs" => outputs = Some(PathBuf::from(value("--outputs")?)),
            "--json" => json = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let mut env = Environment::new(project, stage);
    if let Some(o) = owner {
        env = env.owner(o);
    }
    let region = region
        .or_else(|| std::env::var("AWS_REGION").ok())
        .unwrap_or_else(|| "us-east-1".into());
    env = env.region(region).ephemeral(command == Command::Demo);
    Ok(Options {
        command,
        env,
        outputs,
        json,
    })
}

fn show(plan: &Plan, json: bool) {
    if json {
        println!("{}", plan.to_json());
    } else {
        println!("{plan}");
    }
}

fn write_outputs(opts: &Options, outputs: &serde_json::Value) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(outputs).unwrap_or_default();
    println!("Outputs:\n{text}");
    if let Some(path) = &opts.outputs {
        std::fs::write(path, format!("{text}\n"))
            .map_err(|e| Error::Config(format!("writing outputs to {}: {e}", path.display())))?;
    }
    Ok(())
}

async fn apply(stack: &Stack, ctx: &Context, opts: &Options) -> Result<(), Error> {
    let plan = stack.plan(ctx).await?;
    show(&plan, opts.json);
    if !plan.has_changes() {
        println!("No changes. Infrastructure matches the spec.");
    }
    let report = stack.apply(ctx, &plan).await?;
    let slowest = report
        .timings
        .iter()
        .max_by_key(|(_, t)| t.end_ms - t.start_ms);
    println!(
        "Apply complete: {} changed{}.",
        report.changed,
        slowest
            .map(|(id, t)| format!(
                " (slowest: {id}, {:.1} s)",
                (t.end_ms - t.start_ms) as f64 / 1000.0
            ))
            .unwrap_or_default()
    );
    write_outputs(
        opts,
        &serde_json::to_value(&report.outputs).unwrap_or_default(),
    )
}

async fn destroy(stack: &Stack, ctx: &Context, opts: &Options) -> Result<(), Error> {
    let plan = stack.plan_destroy(ctx).await?;
    show(&plan, opts.json);
    stack.apply(ctx, &plan).await?;
    println!("Destroy complete: {} deleted.", plan.summary.destroy);
    Ok(())
}

/// Run the command for `stack`.
pub async fn run(stack: &Stack, opts: &Options) -> Result<(), Error> {
    let ctx = Context::load(opts.env.clone()).await?;
    match opts.command {
        Command::Plan => show(&stack.plan(&ctx).await?, opts.json),
        Command::Apply => apply(stack, &ctx, opts).await?,
        Command::Destroy => destroy(stack, &ctx, opts).await?,
        Command::Demo => {
            apply(stack, &ctx, opts).await?;
            let again = stack.plan(&ctx).await?;
            if again.has_changes() {
                show(&again, opts.json);
                return Err(Error::Config(
                    "the second plan still has changes: apply did not converge".into(),
                ));
            }
            println!("Second plan: no changes. Infrastructure matches the spec.");
            destroy(stack, &ctx, opts).await?;
        }
    }
    Ok(())
}

/// `main` of an example: parse arguments, build the stack with `build`, run, map errors to an
/// exit code (errors never contain secret values).
pub async fn main_with(
    default_project: &str,
    default_stage: Stage,
    build: impl FnOnce(&Environment) -> Result<Stack, Error>,
) -> ExitCode {
    let opts = match parse_args(default_project, default_stage) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    init_output(std::io::stderr().is_terminal());
    let result = match build(&opts.env) {
        Ok(stack) => run(&stack, &opts).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
