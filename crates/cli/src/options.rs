//! What a parsed command line asks for, with the binary's defaults applied.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::Args;
use skyforge::core::{Environment, Stage};

use crate::approval::RequireApproval;
use crate::{Cli, Cmd, Release};

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// The subcommand.
    pub command: Command,
    /// The environment (project, stage, owner, region).
    pub env: Environment,
    /// Write the stack outputs as JSON here after apply.
    pub outputs: Option<PathBuf>,
    /// Print plans, outputs and estimates as JSON instead of text.
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
    /// Whether a plan that broadens access is confirmed even under `auto_approve`.
    pub require_approval: RequireApproval,
    /// `plan`: exit 2 when there are changes.
    pub detailed_exitcode: bool,
    /// `plan --out FILE`: save the plan there.
    pub plan_out: Option<PathBuf>,
    /// `apply PLANFILE`: apply that saved plan.
    pub plan_file: Option<PathBuf>,
    /// `cost --prices FILE`: a price table of the user's.
    pub prices: Option<PathBuf>,
    /// `policy --account ID`: the account the policies name.
    pub account: Option<String>,
    /// `ci-identity`: who may assume the roles.
    pub ci: skyforge::iam::ci::GithubSubjects,
    /// `ci-identity --max-session`.
    pub max_session: u32,
    /// `ci-identity --destroy`.
    pub ci_destroy: bool,
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
    /// Apply, plan again (must show no changes), print outputs and cost, destroy.
    Demo,
    /// Estimate the monthly cost.
    Cost,
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
    /// Print the CI roles' policies.
    Policy,
    /// Create, update or destroy the CI identity.
    CiIdentity,
}

impl Command {
    fn of(cmd: &Cmd) -> Command {
        match cmd {
            Cmd::Plan { .. } => Command::Plan,
            Cmd::Apply { .. } => Command::Apply,
            Cmd::Destroy => Command::Destroy,
            Cmd::Outputs => Command::Outputs,
            Cmd::Demo => Command::Demo,
            Cmd::Cost { .. } => Command::Cost,
            Cmd::Policy { .. } => Command::Policy,
            Cmd::CiIdentity { .. } => Command::CiIdentity,
            Cmd::Deploy { .. } => Command::Deploy,
            Cmd::Rollback { .. } => Command::Rollback,
            Cmd::Migrate { .. } => Command::Migrate,
            Cmd::ForceUnlock { .. } => Command::ForceUnlock,
        }
    }
}

/// The fields only some subcommands set.
#[derive(Default)]
struct Specific {
    release: Release,
    service: Option<String>,
    cluster: Option<String>,
    unlock_id: Option<String>,
    detailed_exitcode: bool,
    plan_out: Option<PathBuf>,
    plan_file: Option<PathBuf>,
    prices: Option<PathBuf>,
    account: Option<String>,
    ci: skyforge::iam::ci::GithubSubjects,
    max_session: u32,
    ci_destroy: bool,
}

impl Specific {
    fn of(cmd: Cmd) -> Specific {
        let none = Specific::default();
        match cmd {
            Cmd::Plan {
                detailed_exitcode,
                out,
            } => Specific {
                detailed_exitcode,
                plan_out: out,
                ..none
            },
            Cmd::Apply { plan_file } => Specific { plan_file, ..none },
            Cmd::Cost { prices } => Specific { prices, ..none },
            Cmd::Policy { account } => Specific { account, ..none },
            Cmd::CiIdentity {
                repos,
                environments,
                branches,
                max_session,
                destroy,
                account,
            } => Specific {
                ci: skyforge::iam::ci::GithubSubjects {
                    repositories: repos,
                    branches,
                    environments,
                },
                max_session,
                ci_destroy: destroy,
                account,
                ..none
            },
            Cmd::Deploy { image, service } => Specific {
                release: Release {
                    image: Some(image),
                    services: service.into_iter().collect(),
                },
                ..none
            },
            Cmd::Rollback { service, cluster } | Cmd::Migrate { service, cluster } => Specific {
                service: Some(service),
                cluster: Some(cluster),
                ..none
            },
            Cmd::ForceUnlock { lock_id } => Specific {
                unlock_id: Some(lock_id),
                ..none
            },
            Cmd::Destroy | Cmd::Outputs | Cmd::Demo => none,
        }
    }
}

/// The options `cli` asks for; `default_project` and `default_stage` are the binary's, and
/// `region` the region to use without `--region` (the tool's, else `AWS_REGION`, else the
/// profile's: see [`crate::default_region`]).
pub fn options<A: Args>(
    cli: Cli<A>,
    default_project: &str,
    default_stage: Stage,
    region: Option<String>,
) -> Result<Options, String> {
    let stage = match &cli.stage {
        Some(s) => Stage::parse(s).map_err(|e| e.to_string())?,
        None => default_stage,
    };
    let command = Command::of(&cli.command);
    let specific = Specific::of(cli.command);
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
    let demo = command == Command::Demo;
    env = env.region(region).ephemeral(demo);
    Ok(Options {
        command,
        env,
        outputs: cli.outputs,
        json: cli.json,
        state_dir: cli.state_dir,
        state_bucket: cli.state_bucket,
        lock_table: cli.lock_table,
        bootstrap: cli.bootstrap,
        unlock_id: specific.unlock_id,
        allow_destroy: cli.allow_destroy.into_iter().collect(),
        release: specific.release,
        service: specific.service,
        cluster: specific.cluster.unwrap_or_else(|| "main".into()),
        // The demo's stage is ephemeral and destroyed by the same command.
        auto_approve: cli.auto_approve || demo,
        require_approval: if demo {
            RequireApproval::Never
        } else {
            cli.require_approval
        },
        detailed_exitcode: specific.detailed_exitcode,
        plan_out: specific.plan_out,
        plan_file: specific.plan_file,
        prices: specific.prices,
        account: specific.account,
        ci: specific.ci,
        max_session: specific.max_session,
        ci_destroy: specific.ci_destroy,
    })
}
