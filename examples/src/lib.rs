//! The driver shared by the example binaries: a small command line (`plan`, `apply`,
//! `destroy`, `demo`, `force-unlock`), progress display, the plan / apply / re-plan / outputs /
//! destroy cycle, and the state backend every mutating run goes through (locked and journaled:
//! local files under `.skyforge/` by default, S3 with an S3 or DynamoDB lock on request). Copy an
//! example binary as the starting point of your own deploy tool.
#![warn(missing_docs)]

mod deploy;
mod progress;

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
}

const USAGE: &str = "usage: <binary> [plan|apply|destroy|demo|deploy --image TAG [--service NAME]...|rollback --service NAME [--cluster ID]|migrate --service NAME [--cluster ID]|force-unlock LOCK_ID] [--project NAME] [--stage staging|prod|NAME] [--owner ID] [--region REGION] [--outputs FILE] [--json] [--allow-destroy KIND.ID]... [--state-dir DIR | --state-bucket BUCKET [--lock-table TABLE] [--bootstrap]]";

/// Parse `std::env::args()`; `project` and `stage` are the binary's defaults.
pub fn parse_args(default_project: &str, default_stage: Stage) -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut command = Command::Demo;
    let mut unlock_id = None;
    let mut state_dir = PathBuf::from(".skyforge");
    let (mut state_bucket, mut lock_table, mut bootstrap) = (None, None, false);
    let (mut project, mut stage) = (default_project.to_string(), default_stage);
    let (mut owner, mut region, mut outputs, mut json) = (None, None, None, false);
    let mut allow_destroy = BTreeSet::new();
    let mut release = Release::default();
    let mut services = Vec::new();
    let mut cluster = "main".to_string();
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
            "deploy" => command = Command::Deploy,
            "rollback" => command = Command::Rollback,
            "migrate" => command = Command::Migrate,
            "--image" => release.image = Some(value("--image")?),
            "--service" => services.push(value("--service")?),
            "--cluster" => cluster = value("--cluster")?,
            "force-unlock" => {
                command = Command::ForceUnlock;
                unlock_id = Some(value("force-unlock")?);
            }
            "--state-dir" => state_dir = PathBuf::from(value("--state-dir")?),
            "--state-bucket" => state_bucket = Some(value("--state-bucket")?),
            "--lock-table" => lock_table = Some(value("--lock-table")?),
            "--bootstrap" => bootstrap = true,
            "--project" => project = value("--project")?,
            "--stage" => stage = Stage::parse(&value("--stage")?).map_err(|e| e.to_string())?,
            "--owner" => owner = Some(value("--owner")?),
            "--region" => region = Some(value("--region")?),
            "--outputs" => outputs = Some(PathBuf::from(value("--outputs")?)),
            "--json" => json = true,
            "--allow-destroy" => {
                allow_destroy.insert(value("--allow-destroy")?);
            }
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
    if lock_table.is_some() && state_bucket.is_none() {
        return Err(format!("--lock-table needs --state-bucket\n{USAGE}"));
    }
    if command == Command::Deploy && release.image.is_none() {
        return Err(format!("deploy needs --image TAG\n{USAGE}"));
    }
    let service = match (command, services.as_slice()) {
        (Command::Rollback | Command::Migrate, [one]) => Some(one.clone()),
        (Command::Rollback | Command::Migrate, _) => {
            return Err(format!(
                "rollback and migrate need one --service NAME\n{USAGE}"
            ));
        }
        _ => None,
    };
    if command == Command::Deploy {
        release.services = services.into_iter().collect();
    }
    Ok(Options {
        command,
        env,
        outputs,
        json,
        state_dir,
        state_bucket,
        lock_table,
        bootstrap,
        unlock_id,
        allow_destroy,
        release,
        service,
        cluster,
    })
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
            Review::Proceed
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
    Ok((plan, report))
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

/// Run the command for `stack`.
pub async fn run(stack: Stack, opts: &Options) -> Result<(), Error> {
    let ctx = Context::load(opts.env.clone()).await?;
    let b = backend(opts, &ctx, &stack).await?;
    match opts.command {
        Command::Deploy => deploy::deploy(&stack, &ctx, opts, &b).await,
        Command::Rollback => deploy::rollback(stack, &ctx, opts, &b).await,
        Command::Migrate => deploy::migrate(&stack, &ctx, opts, &b).await,
        _ => run_stack(&stack, opts, &ctx, &b).await,
    }
}

async fn run_stack(stack: &Stack, opts: &Options, ctx: &Context, b: &Backend) -> Result<(), Error> {
    let (ctx, b) = (ctx.clone(), b.clone());
    match opts.command {
        Command::Plan => {
            let options = PlanOptions {
                allow_destroy: opts.allow_destroy.clone(),
            };
            let plan =
                skyforge::state::plan_with(stack, &ctx, &b, PlanMode::Apply, &options).await?;
            show(&plan, opts.json);
            refused(&plan)?;
        }
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

/// `main` of an example: parse arguments, build the stack with `build`, run, map errors to an
/// exit code (errors never contain secret values).
pub async fn main_with(
    default_project: &str,
    default_stage: Stage,
    build: impl FnOnce(&Environment, &Release) -> skyforge::core::Result<Stack>,
) -> ExitCode {
    let opts = match parse_args(default_project, default_stage) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    init_output(std::io::stderr().is_terminal());
    let result = match build(&opts.env, &opts.release) {
        Ok(stack) => run(stack, &opts).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
