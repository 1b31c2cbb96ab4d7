//! # skyforge-cli
//!
//! The command line of a skyforge deploy tool, for your own stack: give [`main_with`] a
//! function that builds the stack for an environment, and the binary gets `plan`, `apply`,
//! `destroy`, `outputs`, `demo`, `deploy --image TAG`, `rollback`, `migrate` and
//! `force-unlock`, with `--stage`, `--owner`, `--region`, state in local files or S3 (with an S3
//! or DynamoDB lock), every mutating run locked and journaled, progress bars on a terminal and
//! plain lines in CI.
//!
//! - `apply` and `destroy` show the plan and ask for `yes` on a terminal; `--auto-approve` for
//!   CI; without a terminal and without it they refuse before any API call.
//! - `plan --detailed-exitcode` exits 0 without changes, 2 with changes, 1 on error (as
//!   Terraform); a bad command line exits 2 with clap's message.
//! - Errors never contain secret values.
#![warn(missing_docs)]

mod args;
mod deploy;
mod progress;
#[cfg(test)]
mod tests;

pub use args::{Cli, Cmd};

pub use deploy::Release;

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use skyforge::core::{
    ApplyReport, Context, Environment, Plan, PlanMode, PlanOptions, Stack, Stage,
};
use skyforge::state::{
    Backend, DynamoDbLock, FileLock, LocalStore, Locker, Review, S3Lock, S3Store, StateStore,
};

/// Errors of a run: the engine's, the state's, or the command line's.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

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
    /// Local state and lock files (when no bucket is given): `.skyforge` by default.
    pub state_dir: PathBuf,
    /// Keep state in this S3 bucket (`skyforge/<stack>.json`), locked in S3 or in `lock_table`.
    pub state_bucket: Option<String>,
    /// Lock in this DynamoDB table (`LockID` key) instead of S3.
    pub lock_table: Option<String>,
    /// Create the bucket and table first (idempotent).
    pub bootstrap: bool,
    /// The lock id for `force-unlock`.
    pub unlock_id: Option<String>,
    /// Protected resources (`KIND.ID`) this run may delete or replace (`--allow-destroy`).
    pub allow_destroy: BTreeSet<String>,
    /// What `deploy` ships (`--image TAG`, `--service NAME`).
    pub release: Release,
    /// The service `rollback` rolls back or `migrate` migrates (`--service NAME`).
    pub service: Option<String>,
    /// The cluster's logical id for `rollback` (`--cluster`, default `main`).
    pub cluster: String,
    /// Apply without asking.
    pub auto_approve: bool,
    /// `plan`: exit 2 when there are changes.
    pub detailed_exitcode: bool,
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
    /// Remove a stale lock, given its exact id.
    ForceUnlock,
    /// Apply with a release: new revisions, migrations, rollouts watched to the end.
    Deploy,
    /// Put a service back on its previous revision.
    Rollback,
    /// Run a service's migration now.
    Migrate,
    /// Print the outputs of the last apply.
    Outputs,
}

/// The options `cli` asks for; `default_project` and `default_stage` are the binary's, and the
/// region falls back to `AWS_REGION`, then the profile's (`region`, the SDK's default chain).
pub fn options(
    cli: Cli,
    default_project: &str,
    default_stage: Stage,
    region: Option<String>,
) -> Result<Options, String> {
    let stage = match &cli.stage {
        Some(s) => Stage::parse(s).map_err(|e| e.to_string())?,
        None => default_stage,
    };
    let (command, release, service, cluster, unlock_id, detailed) = match cli.command.clone() {
        Cmd::Plan { detailed_exitcode } => (
            Command::Plan,
            Release::default(),
            None,
            None,
            None,
            detailed_exitcode,
        ),
        Cmd::Apply => (Command::Apply, Release::default(), None, None, None, false),
        Cmd::Destroy => (
            Command::Destroy,
            Release::default(),
            None,
            None,
            None,
            false,
        ),
        Cmd::Outputs => (
            Command::Outputs,
            Release::default(),
            None,
            None,
            None,
            false,
        ),
        Cmd::Demo => (Command::Demo, Release::default(), None, None, None, false),
        Cmd::Deploy { image, service } => {
            let release = Release {
                image: Some(image),
                services: service.into_iter().collect(),
            };
            (Command::Deploy, release, None, None, None, false)
        }
        Cmd::Rollback { service, cluster } => (
            Command::Rollback,
            Release::default(),
            Some(service),
            Some(cluster),
            None,
            false,
        ),
        Cmd::Migrate { service, cluster } => (
            Command::Migrate,
            Release::default(),
            Some(service),
            Some(cluster),
            None,
            false,
        ),
        Cmd::ForceUnlock { lock_id } => (
            Command::ForceUnlock,
            Release::default(),
            None,
            None,
            Some(lock_id),
            false,
        ),
    };
    let mut env = Environment::new(
        cli.project.unwrap_or_else(|| default_project.to_string()),
        stage,
    );
    if let Some(o) = cli.owner {
        env = env.owner(o);
    }
    let region = cli
        .region
        .or(region)
        .ok_or("no AWS region: pass --region, or set AWS_REGION or a region in your profile")?;
    env = env.region(region).ephemeral(command == Command::Demo);
    Ok(Options {
        command,
        env,
        outputs: cli.outputs,
        json: cli.json,
        state_dir: cli.state_dir,
        state_bucket: cli.state_bucket,
        lock_table: cli.lock_table,
        bootstrap: cli.bootstrap,
        unlock_id,
        allow_destroy: cli.allow_destroy.into_iter().collect::<BTreeSet<_>>(),
        release,
        service,
        cluster: cluster.unwrap_or_else(|| "main".into()),
        auto_approve: cli.auto_approve || command == Command::Demo,
        detailed_exitcode: detailed,
    })
}

/// The region of `AWS_REGION`, else of the profile (the SDK's default region chain).
pub async fn default_region() -> Option<String> {
    if let Ok(r) = std::env::var("AWS_REGION")
        && !r.is_empty()
    {
        return Some(r);
    }
    aws_config::default_provider::region::DefaultRegionChain::builder()
        .build()
        .region()
        .await
        .map(|r| r.to_string())
}

/// The state backend the options ask for: local files by default, S3 (with an S3 or DynamoDB
/// lock) with `--state-bucket`.
pub async fn backend(opts: &Options, ctx: &Context, stack: &Stack) -> Result<Backend, Error> {
    let name = stack.name();
    let lease = Duration::from_secs(60);
    Ok(match &opts.state_bucket {
        None => Backend {
            store: Arc::new(LocalStore::new(
                opts.state_dir.join(format!("{name}.state.json")),
            )),
            locker: Locker::new(
                Arc::new(FileLock::new(opts.state_dir.join(format!("{name}.lock")))),
                lease,
            ),
        },
        Some(bucket) => {
            if opts.bootstrap {
                skyforge::state::bootstrap(ctx, bucket, opts.lock_table.as_deref()).await?;
            }
            let store: Arc<dyn StateStore> =
                Arc::new(S3Store::new(ctx, bucket, format!("skyforge/{name}.json")));
            let locker = match &opts.lock_table {
                Some(table) => Locker::new(Arc::new(DynamoDbLock::new(ctx, table, &name)), lease),
                None => Locker::new(
                    Arc::new(S3Lock::connect(ctx, bucket, "skyforge/locks/", &name).await?),
                    lease,
                ),
            };
            Backend { store, locker }
        }
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
            .map_err(|e| format!("writing outputs to {}: {e}", path.display()))?;
    }
    Ok(())
}

/// The plan's refusals as the run's error (like `terraform plan` with `prevent_destroy`).
fn refused(plan: &Plan) -> Result<(), Error> {
    if plan.is_refused() {
        Err(refusal_error(&plan.refused))
    } else {
        Ok(())
    }
}

/// The error naming the refused resources and the flag that allows each.
fn refusal_error(refusals: &[skyforge::core::Refusal]) -> Error {
    let names: Vec<String> = refusals.iter().map(|r| r.resource.to_string()).collect();
    format!(
        "the plan deletes or replaces {} resource(s) holding data; rerun with --allow-destroy for each one you mean to lose: {}",
        names.len(),
        names.join(", ")
    )
    .into()
}

/// Plan and apply (or destroy) under one lock: the plan shown is the plan applied, and a second
/// operator is refused before planning.
pub(crate) async fn locked_run(
    stack: &Stack,
    ctx: &Context,
    opts: &Options,
    b: &Backend,
    mode: PlanMode,
) -> Result<(Plan, Option<ApplyReport>), Error> {
    let (plan, report) =
        skyforge::state::plan_and_apply(stack, ctx, b, mode, &opts.allow_destroy, |plan| {
            show(plan, opts.json);
            review(plan, opts.auto_approve)
        })
        .await
        .map_err(|e| -> Error {
            match e {
                // A refused plan stops before any call; say which flags would allow it.
                skyforge::state::Error::Core(skyforge::core::Error::Protected { refusals }) => {
                    refusal_error(&refusals)
                }
                other => other.into(),
            }
        })?;
    if plan.has_changes() && report.is_none() {
        return Err("cancelled at the confirmation: nothing was changed".into());
    }
    Ok((plan, report))
}

/// Proceed with `plan`: at once with `--auto-approve` or when it changes nothing, else when the
/// person at the terminal types `yes`.
fn review(plan: &Plan, auto_approve: bool) -> Review {
    if auto_approve || !plan.has_changes() {
        return Review::Proceed;
    }
    print!("Do you want to perform these actions? Only 'yes' will be accepted: ");
    let _ = std::io::Write::flush(&mut std::io::stdout());
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_ok() && answer.trim() == "yes" {
        Review::Proceed
    } else {
        Review::Stop
    }
}

/// Refuse a run that would need a confirmation nobody can give (no terminal, no
/// `--auto-approve`), before any API call.
fn check_approval(opts: &Options) -> Result<(), Error> {
    let mutating = matches!(
        opts.command,
        Command::Apply | Command::Destroy | Command::Deploy
    );
    if mutating && !opts.auto_approve && !std::io::stdin().is_terminal() {
        return Err("apply, destroy and deploy ask for confirmation on a terminal; there is none here: pass --auto-approve (CI) or run it on a terminal".into());
    }
    Ok(())
}

async fn apply(stack: &Stack, ctx: &Context, opts: &Options, b: &Backend) -> Result<(), Error> {
    let (plan, report) = locked_run(stack, ctx, opts, b, PlanMode::Apply).await?;

    if !plan.has_changes() {
        println!("No changes. Infrastructure matches the spec.");
    }
    let report = report.unwrap_or_default();
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

async fn destroy(stack: &Stack, ctx: &Context, opts: &Options, b: &Backend) -> Result<(), Error> {
    let (plan, _) = locked_run(stack, ctx, opts, b, PlanMode::Destroy).await?;
    println!("Destroy complete: {} deleted.", plan.summary.destroy);
    Ok(())
}

/// Run the command for `stack`. `Ok(true)` when a plan has changes left to apply (what
/// `plan --detailed-exitcode` reports with exit code 2).
pub async fn run(stack: Stack, opts: &Options) -> Result<bool, Error> {
    check_approval(opts)?;
    let ctx = Context::load(opts.env.clone()).await?;
    let b = backend(opts, &ctx, &stack).await?;
    match opts.command {
        Command::Deploy => deploy::deploy(&stack, &ctx, opts, &b).await.map(|()| false),
        Command::Rollback => deploy::rollback(stack, &ctx, opts, &b)
            .await
            .map(|()| false),
        Command::Migrate => deploy::migrate(&stack, &ctx, opts, &b)
            .await
            .map(|()| false),
        Command::Plan => plan(&stack, opts, &ctx, &b).await,
        _ => run_stack(&stack, opts, &ctx, &b).await.map(|()| false),
    }
}

async fn plan(stack: &Stack, opts: &Options, ctx: &Context, b: &Backend) -> Result<bool, Error> {
    let options = PlanOptions {
        allow_destroy: opts.allow_destroy.clone(),
    };
    let plan = skyforge::state::plan_with(stack, ctx, b, PlanMode::Apply, &options).await?;
    show(&plan, opts.json);
    refused(&plan)?;
    if !plan.has_changes() {
        println!("No changes. Infrastructure matches the spec.");
    }
    Ok(plan.has_changes())
}

/// The outputs the last apply recorded in the state.
async fn outputs(opts: &Options, b: &Backend) -> Result<(), Error> {
    let doc = b
        .store
        .load()
        .await?
        .ok_or("no state yet: nothing was applied")?;
    let value = serde_json::to_value(&doc.outputs).unwrap_or_default();
    if opts.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        return Ok(());
    }
    write_outputs(opts, &value)
}

async fn run_stack(stack: &Stack, opts: &Options, ctx: &Context, b: &Backend) -> Result<(), Error> {
    let (ctx, b) = (ctx.clone(), b.clone());
    match opts.command {
        Command::Plan => unreachable!("plan goes through `plan`"),
        Command::Outputs => outputs(opts, &b).await?,
        Command::Apply => apply(stack, &ctx, opts, &b).await?,
        Command::Destroy => destroy(stack, &ctx, opts, &b).await?,
        Command::ForceUnlock => {
            let id = opts.unlock_id.as_deref().unwrap_or_default();
            let info = b.locker.force_unlock(&stack.name(), id).await?;
            println!(
                "Released the lock {} held by {} for {}.",
                info.id, info.holder, info.operation
            );
        }
        Command::Demo => {
            apply(stack, &ctx, opts, &b).await?;
            let again = stack.plan(&ctx).await?;
            if again.has_changes() {
                show(&again, opts.json);
                return Err("the second plan still has changes: apply did not converge".into());
            }
            println!("Second plan: no changes. Infrastructure matches the spec.");
            destroy(stack, &ctx, opts, &b).await?;
        }
        Command::Deploy | Command::Rollback | Command::Migrate => {
            return Err("deploy, rollback and migrate go through `run`".into());
        }
    }
    Ok(())
}

/// `main` of a deploy tool: parse the command line, build the stack with `build`, run, map the
/// outcome to an exit code (0 done, 1 error, 2 a bad command line or, with `plan
/// --detailed-exitcode`, changes to apply). Errors never contain secret values.
pub async fn main_with(
    default_project: &str,
    default_stage: Stage,
    build: impl FnOnce(&Environment, &Release) -> skyforge::core::Result<Stack>,
) -> ExitCode {
    use clap::Parser;
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let opts = match options(cli, default_project, default_stage, default_region().await) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    };
    init_output(std::io::stderr().is_terminal());
    let result = match build(&opts.env, &opts.release) {
        Ok(stack) => run(stack, &opts).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(true) if opts.detailed_exitcode => ExitCode::from(2),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The README's example, compiled (not run: it needs AWS) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
