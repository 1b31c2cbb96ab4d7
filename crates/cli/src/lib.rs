//! # skyforge-cli
//!
//! The command line of a skyforge deploy tool, for your own stack: give [`Tool::main`] a
//! function that builds the stack for an environment (and, if you like, options of your own,
//! clap `Args` flattened in), and the binary gets `plan`, `apply`, `destroy`, `outputs`, `cost`,
//! `demo`, `deploy --image TAG`, `rollback`, `migrate` and `force-unlock`, with `--stage`,
//! `--owner`, `--region`, state in local files or S3 (with an S3 or DynamoDB lock), every
//! mutating run locked and journaled, a line per resource operation and progress bars for
//! waits on a terminal, plain lines in CI.
//!
//! - `apply` and `destroy` show the plan and ask for `yes` on a terminal; `--auto-approve` for
//!   CI; without a terminal and without it they refuse before any API call.
//! - A plan that broadens access (ingress from the internet, new IAM permissions, a resource
//!   made public) is confirmed on a terminal even under `--auto-approve`, and refused without
//!   one, unless `--require-approval never` (as CDK's `--require-approval broadening`).
//! - `plan --out FILE` saves the plan; `apply FILE` applies exactly it, refused if the stack or
//!   what observation finds changed since.
//! - `plan --detailed-exitcode` exits 0 without changes, 2 with changes, 1 on error (as
//!   Terraform); a bad command line exits 2 with clap's message.
//! - `cost` prints a monthly estimate from the plan (`skyforge-cost`), without any AWS call.
//! - Errors never contain secret values.
#![warn(missing_docs)]

mod approval;
mod args;
mod deploy;
mod options;
mod policy;
mod progress;
#[cfg(test)]
mod tests;

pub use approval::{RequireApproval, broadening};
pub use args::{Cli, Cmd, NoArgs};
pub use deploy::Release;
pub use options::{Command, Options, options};
pub use policy::{Policies, policies};
pub use progress::init_output;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use skyforge::core::{
    ApplyReport, Context, Environment, Plan, PlanMode, PlanOptions, Stack, Stage,
};
use skyforge::state::{
    Backend, DynamoDbLock, FileLock, LocalStore, Locker, S3Lock, S3Store, StateStore,
};

/// Errors of a run: the engine's, the state's, or the command line's.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

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
                Arc::new(S3Store::new(ctx, bucket, skyforge::state::state_key(&name)));
            let locker = match &opts.lock_table {
                Some(table) => Locker::new(Arc::new(DynamoDbLock::new(ctx, table, &name)), lease),
                None => Locker::new(
                    Arc::new(
                        S3Lock::connect(ctx, bucket, skyforge::state::S3_LOCK_PREFIX, &name)
                            .await?,
                    ),
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

/// The state crate's error, with a refusal turned into the flags that would allow it.
fn run_error(e: skyforge::state::Error) -> Error {
    match e {
        skyforge::state::Error::Core(skyforge::core::Error::Protected { refusals }) => {
            refusal_error(&refusals)
        }
        other => other.into(),
    }
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
            approval::review(plan, opts)
        })
        .await
        .map_err(run_error)?;
    if plan.has_changes() && report.is_none() {
        return Err("cancelled at the confirmation: nothing was changed".into());
    }
    Ok((plan, report))
}

fn report_apply(plan_changed: bool, report: ApplyReport, opts: &Options) -> Result<(), Error> {
    if !plan_changed {
        println!("No changes. Infrastructure matches the spec.");
    }
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

async fn apply(stack: &Stack, ctx: &Context, opts: &Options, b: &Backend) -> Result<(), Error> {
    if let Some(path) = &opts.plan_file {
        return apply_saved(stack, ctx, opts, b, path).await;
    }
    let (plan, report) = locked_run(stack, ctx, opts, b, PlanMode::Apply).await?;
    report_apply(plan.has_changes(), report.unwrap_or_default(), opts)
}

/// `apply PLANFILE`: the plan reviewed when it was saved, applied as it is (no second question,
/// as Terraform); refused if the stack's spec or what observation finds changed since.
async fn apply_saved(
    stack: &Stack,
    ctx: &Context,
    opts: &Options,
    b: &Backend,
    path: &std::path::Path,
) -> Result<(), Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("reading the plan {}: {e}", path.display()))?;
    let plan: Plan = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a skyforge plan: {e}", path.display()))?;
    let report = skyforge::state::apply_with(stack, ctx, &plan, b, &opts.allow_destroy)
        .await
        .map_err(run_error)?;
    report_apply(plan.has_changes(), report, opts)
}

async fn destroy(stack: &Stack, ctx: &Context, opts: &Options, b: &Backend) -> Result<(), Error> {
    let (plan, _) = locked_run(stack, ctx, opts, b, PlanMode::Destroy).await?;
    println!("Destroy complete: {} deleted.", plan.summary.destroy);
    Ok(())
}

/// `cost`: the estimate of the stack as specified (its plan against an empty account), from the
/// built-in table of the region or `--prices FILE`.
fn cost(stack: &Stack, opts: &Options) -> Result<(), Error> {
    let region = opts.env.region_name().unwrap_or_default();
    let prices = match &opts.prices {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("reading prices {}: {e}", path.display()))?;
            serde_json::from_str(&text)
                .map_err(|e| format!("{} is not a price table: {e}", path.display()))?
        }
        None => skyforge_cost::PriceTable::for_region(region).ok_or_else(|| {
            format!(
                "no built-in prices for {region} (there are for {}): pass --prices FILE",
                skyforge_cost::PriceTable::regions().join(", ")
            )
        })?,
    };
    let plan = stack.plan_offline()?;
    let e = skyforge_cost::estimate(&plan, &prices, &skyforge_cost::Assumptions::default());
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&e).unwrap_or_default());
    } else {
        println!("{e}");
    }
    Ok(())
}

/// Run the command for `stack`. `Ok(true)` when a plan has changes left to apply (what
/// `plan --detailed-exitcode` reports with exit code 2).
pub async fn run(stack: Stack, opts: &Options) -> Result<bool, Error> {
    if opts.command == Command::Cost {
        return cost(&stack, opts).map(|()| false);
    }
    if opts.command == Command::Policy {
        return policy::print(&stack, opts).await.map(|()| false);
    }
    if opts.command == Command::CiIdentity {
        return policy::ci_identity(&stack, opts).await.map(|()| false);
    }
    approval::check_approval(opts)?;
    let ctx = Context::load(opts.env.clone()).await?;
    let b = backend(opts, &ctx, &stack).await?;
    let result = command(stack, opts, &ctx, &b).await;
    // On stderr, after success and failure alike: a CI log shows a run that fought throttling.
    eprintln!("{}", ctx.tally());
    result
}

async fn command(stack: Stack, opts: &Options, ctx: &Context, b: &Backend) -> Result<bool, Error> {
    match opts.command {
        Command::Deploy => deploy::deploy(&stack, ctx, opts, b).await.map(|()| false),
        Command::Rollback => deploy::rollback(stack, ctx, opts, b).await.map(|()| false),
        Command::Migrate => deploy::migrate(&stack, ctx, opts, b).await.map(|()| false),
        Command::Plan => plan(&stack, opts, ctx, b).await,
        _ => run_stack(&stack, opts, ctx, b).await.map(|()| false),
    }
}

async fn plan(stack: &Stack, opts: &Options, ctx: &Context, b: &Backend) -> Result<bool, Error> {
    let options = PlanOptions {
        allow_destroy: opts.allow_destroy.clone(),
    };
    let plan = skyforge::state::plan_with(stack, ctx, b, PlanMode::Apply, &options).await?;
    show(&plan, opts.json);
    refused(&plan)?;
    if let Some(path) = &opts.plan_out {
        std::fs::write(path, plan.to_json())
            .map_err(|e| format!("writing the plan to {}: {e}", path.display()))?;
        println!(
            "Saved the plan to {}: apply it with `apply {}`.",
            path.display(),
            path.display()
        );
    }
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

async fn demo(stack: &Stack, ctx: &Context, opts: &Options, b: &Backend) -> Result<(), Error> {
    apply(stack, ctx, opts, b).await?;
    let again = stack.plan(ctx).await?;
    if again.has_changes() {
        show(&again, opts.json);
        return Err("the second plan still has changes: apply did not converge".into());
    }
    println!("Second plan: no changes. Infrastructure matches the spec.");
    if opts
        .env
        .region_name()
        .and_then(skyforge_cost::PriceTable::for_region)
        .is_some()
    {
        cost(stack, opts)?;
    }
    destroy(stack, ctx, opts, b).await
}

async fn run_stack(stack: &Stack, opts: &Options, ctx: &Context, b: &Backend) -> Result<(), Error> {
    match opts.command {
        Command::Outputs => outputs(opts, b).await,
        Command::Apply => apply(stack, ctx, opts, b).await,
        Command::Destroy => destroy(stack, ctx, opts, b).await,
        Command::Demo => demo(stack, ctx, opts, b).await,
        Command::ForceUnlock => {
            let id = opts.unlock_id.as_deref().unwrap_or_default();
            let info = b.locker.force_unlock(&stack.name(), id).await?;
            println!(
                "Released the lock {} held by {} for {}.",
                info.id, info.holder, info.operation
            );
            Ok(())
        }
        other => Err(format!("{other:?} does not go through `run_stack`").into()),
    }
}

/// A deploy tool: its defaults (project, stage, region) and, through [`Tool::main`], its
/// `main`.
#[derive(Debug, Clone)]
pub struct Tool {
    project: String,
    stage: Stage,
    region: Option<String>,
}

impl Tool {
    /// A tool whose stacks are `project`'s, `stage` unless `--stage` says otherwise.
    pub fn new(project: impl Into<String>, stage: Stage) -> Tool {
        Tool {
            project: project.into(),
            stage,
            region: None,
        }
    }
    /// The region without `--region` (the system's, as `us-west-1` for a team that lives
    /// there); without it, `AWS_REGION`, then the profile's.
    pub fn region(mut self, region: impl Into<String>) -> Tool {
        self.region = Some(region.into());
        self
    }

    /// `main` of the tool: parse the command line (with the tool's own options `A`), build the
    /// stack with `build`, run, map the outcome to an exit code (0 done, 1 error, 2 a bad
    /// command line or, with `plan --detailed-exitcode`, changes to apply). Errors never
    /// contain secret values.
    pub async fn main<A: Args + Clone>(
        self,
        build: impl FnOnce(&Environment, &Release, &A) -> skyforge::core::Result<Stack>,
    ) -> ExitCode {
        use clap::Parser;
        let cli = match Cli::<A>::try_parse() {
            Ok(c) => c,
            Err(e) => {
                let _ = e.print();
                return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
            }
        };
        let extra = cli.extra.clone();
        let region = match self.region {
            Some(r) => Some(r),
            None => default_region().await,
        };
        let opts = match options(cli, &self.project, self.stage, region) {
            Ok(o) => o,
            Err(msg) => {
                eprintln!("error: {msg}");
                return ExitCode::from(2);
            }
        };
        init_output(std::io::stderr().is_terminal());
        let result = match build(&opts.env, &opts.release, &extra) {
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
}

/// `main` of a deploy tool without options of its own: [`Tool::main`] with `default_project`
/// and `default_stage`.
pub async fn main_with(
    default_project: &str,
    default_stage: Stage,
    build: impl FnOnce(&Environment, &Release) -> skyforge::core::Result<Stack>,
) -> ExitCode {
    Tool::new(default_project, default_stage)
        .main(|env, release, _: &NoArgs| build(env, release))
        .await
}

/// The README's example, compiled (not run: it needs AWS) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
