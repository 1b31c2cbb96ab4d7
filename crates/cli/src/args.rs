//! The command line, parsed with clap: subcommands, options that may stand anywhere, and the
//! options a tool adds for its own stack (`A`, flattened in).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::approval::RequireApproval;

/// A tool's options when it adds none of its own.
#[derive(Debug, Clone, Default, Args)]
pub struct NoArgs {}

/// One skyforge stack's deploy tool; `A` holds the options the tool adds (clap `Args`; mark them
/// `global = true` so they may stand after the subcommand too).
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub struct Cli<A: Args = NoArgs> {
    /// What to do.
    #[command(subcommand)]
    pub command: Cmd,
    /// Project name (the binary's default otherwise).
    #[arg(long, global = true)]
    pub project: Option<String>,
    /// Stage: `staging`, `prod` or another name (`dev`, `pr42`).
    #[arg(long, global = true)]
    pub stage: Option<String>,
    /// Owner id, for several copies of a stage in one account (`--owner chuong`).
    #[arg(long, global = true)]
    pub owner: Option<String>,
    /// AWS region; default the tool's, then `AWS_REGION`, then the profile's region.
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Write the stack outputs as JSON to this file after apply.
    #[arg(long, global = true)]
    pub outputs: Option<PathBuf>,
    /// Print plans, outputs and estimates as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    /// Local state and lock files, when no bucket is given.
    #[arg(long, global = true, default_value = ".skyforge")]
    pub state_dir: PathBuf,
    /// Keep state in this S3 bucket (`skyforge/<stack>.json`).
    #[arg(long, global = true)]
    pub state_bucket: Option<String>,
    /// Lock in this DynamoDB table (`LockID` key) instead of S3; needs --state-bucket.
    #[arg(long, global = true, requires = "state_bucket")]
    pub lock_table: Option<String>,
    /// Create the bucket and table first (idempotent).
    #[arg(long, global = true)]
    pub bootstrap: bool,
    /// A protected resource (`KIND.ID`) this run may delete or replace; repeat for each.
    #[arg(long = "allow-destroy", global = true, value_name = "KIND.ID")]
    pub allow_destroy: Vec<String>,
    /// Apply without asking (CI). Without it, apply and destroy show the plan and ask for `yes`
    /// on a terminal, and refuse without one.
    #[arg(long, global = true)]
    pub auto_approve: bool,
    /// Whether a plan that broadens access (ingress from the internet, new IAM permissions, a
    /// resource made public) is confirmed on a terminal even under --auto-approve.
    #[arg(long, global = true, value_enum, default_value_t = RequireApproval::Broadening)]
    pub require_approval: RequireApproval,
    /// The tool's own options.
    #[command(flatten)]
    pub extra: A,
}

/// The subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Cmd {
    /// Show what apply would do.
    Plan {
        /// Exit 2 when the plan has changes, 0 when it has none, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Save the plan (JSON) for `apply PLANFILE`.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Plan, confirm, apply under the lock, print the outputs. With PLANFILE, apply that saved
    /// plan: refused if the stack or the world changed since it was made.
    Apply {
        /// A plan saved by `plan --out`.
        plan_file: Option<PathBuf>,
    },
    /// Plan and apply the destruction of everything the stack owns.
    Destroy,
    /// Print the outputs of the last apply (from the state).
    Outputs,
    /// Apply, plan again (must show no changes), print the outputs and the cost, destroy; an
    /// ephemeral stage, no confirmation asked.
    Demo,
    /// Estimate the stack's monthly cost from its plan (no AWS call).
    Cost {
        /// A price table of your own (JSON, the fields of `skyforge_cost::PriceTable`).
        #[arg(long, value_name = "FILE")]
        prices: Option<PathBuf>,
    },
    /// Print the IAM policies a CI role needs for this stack, as JSON: `deploy` (plan, apply,
    /// destroy) and `release` (deploy, migrate, rollback with an image already pushed, and the
    /// image push). No AWS call when `--account` is given.
    Policy {
        /// The account the stack deploys to (default: the caller's, from STS).
        #[arg(long)]
        account: Option<String>,
    },
    /// Create (or update) the stack's CI identity: GitHub's OIDC provider and the roles
    /// `ci-plan`, `ci-deploy` and `ci-release` with the policies `policy` prints, in a stack of
    /// their own (`<stack>-ci`). Run by an administrator, again when the stack's kinds change.
    CiIdentity {
        /// A GitHub repository (`owner/name`) whose workflows may assume the roles; repeat.
        #[arg(long = "repo", required = true)]
        repos: Vec<String>,
        /// A GitHub environment whose jobs may deploy (behind its reviewers); repeat.
        #[arg(long = "environment", required = true)]
        environments: Vec<String>,
        /// A branch whose pushes may plan (pull requests always may); repeat.
        #[arg(long = "branch", default_value = "main")]
        branches: Vec<String>,
        /// Longest session, in seconds (3600 to 43200).
        #[arg(long, default_value_t = 3600)]
        max_session: u32,
        /// Destroy the CI identity instead (the OIDC provider stays: it is the account's).
        #[arg(long)]
        destroy: bool,
        /// The account the stack deploys to (default: the caller's, from STS).
        #[arg(long)]
        account: Option<String>,
    },
    /// Apply with a new image tag: new revisions, migrations, rollouts watched to the end.
    Deploy {
        /// The image tag to deploy.
        #[arg(long)]
        image: String,
        /// Only these services (all with a registry image otherwise); repeat for each.
        #[arg(long)]
        service: Vec<String>,
    },
    /// Put a service back on its previous revision.
    Rollback {
        /// The service's logical id.
        #[arg(long)]
        service: String,
        /// The cluster's logical id.
        #[arg(long, default_value = "main")]
        cluster: String,
    },
    /// Run a service's migration now.
    Migrate {
        /// The service's logical id.
        #[arg(long)]
        service: String,
        /// The cluster's logical id.
        #[arg(long, default_value = "main")]
        cluster: String,
    },
    /// Remove a stale lock, given its exact id.
    ForceUnlock {
        /// The lock id the refusal named.
        lock_id: String,
    },
}
