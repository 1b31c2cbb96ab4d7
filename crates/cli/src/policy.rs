//! `policy`: the IAM policies of the stack's CI roles, made from its declarations.

use serde_json::{Value, json};
use skyforge::core::{Context, Declaration, Stack};
use skyforge::iam::deploy::{
    ArnContext, GeneratedPolicy, NO_RESOURCE_TYPE, PolicyInput, deploy_policy, plan_policy,
    release_policy,
};
use skyforge::iam::{MAX_MANAGED_CHARS, Statement, caller_account};

use crate::{Error, Options};

/// The policies of `stack`'s CI roles: `plan`, `deploy` and `release`.
pub struct Policies {
    /// plan.
    pub plan: GeneratedPolicy,
    /// plan, apply, destroy.
    pub deploy: GeneratedPolicy,
    /// deploy, migrate, rollback, and pushing images.
    pub release: GeneratedPolicy,
}

/// Make the three policies of `stack` in `account`, with the state backend `opts` names.
pub fn policies(stack: &Stack, opts: &Options, account: &str) -> Result<Policies, Error> {
    let region = opts.env.region_name().unwrap_or_default();
    let at = ArnContext::new(region, account);
    let name = stack.name();
    let mut declarations = stack.declarations(account);
    declarations.extend(release_actions(stack, account));
    let input = PolicyInput {
        declarations: &declarations,
        stack: &name,
        at: &at,
    };
    let state = state_statements(opts, &at, &name, true);
    let reads = state_statements(opts, &at, &name, false);
    let plan = plan_policy(input, reads).map_err(|e| e.to_string())?;
    let deploy = deploy_policy(input, state.clone()).map_err(|e| e.to_string())?;
    let mut extra = state;
    extra.extend(image_push(&declarations, &at));
    let release = release_policy(input, extra).map_err(|e| e.to_string())?;
    Ok(Policies {
        plan,
        deploy,
        release,
    })
}

/// The rollback and migrate actions the CLI adds to a stack for each of its services.
fn release_actions(stack: &Stack, account: &str) -> Vec<Declaration> {
    use skyforge::compute::{KIND_CLUSTER, KIND_SERVICE, Migrate, Rollback};
    let ids = stack.resource_ids();
    let of = |kind: &str| -> Vec<String> {
        ids.iter()
            .filter(|i| i.kind == kind)
            .map(|i| i.logical_id.clone())
            .collect()
    };
    let mut run = Stack::new(stack.env().clone());
    for cluster in of(KIND_CLUSTER) {
        for service in of(KIND_SERVICE) {
            run.add_action(Rollback::new(&cluster, &service));
            run.add_action(Migrate::new(&cluster, &service));
        }
    }
    run.declarations(account)
}

fn state_statements(opts: &Options, at: &ArnContext, stack: &str, locked: bool) -> Vec<Statement> {
    let Some(bucket) = &opts.state_bucket else {
        return Vec::new();
    };
    let location = skyforge::state::StateLocation {
        partition: &at.partition,
        region: &at.region,
        account: &at.account,
        bucket,
        lock_table: opts.lock_table.as_deref(),
        stack,
    };
    skyforge::state::access(&location, locked)
        .into_iter()
        .map(|a| {
            let st = Statement::allow(a.actions.iter().copied()).sid(a.sid);
            let st = a.resources.into_iter().fold(st, Statement::on);
            match a.condition {
                Some((op, key, value)) => st.when(op, key, [value]),
                None => st,
            }
        })
        .collect()
}

/// Pushing images to the stack's repositories (what CI does before `deploy`).
fn image_push(declarations: &[Declaration], at: &ArnContext) -> Vec<Statement> {
    let repos: Vec<String> = declarations
        .iter()
        .filter(|d| !d.orphans)
        .flat_map(|d| &d.names)
        .filter(|n| n.resource_type == "ecr:repository")
        .map(|n| {
            format!(
                "arn:{}:ecr:{}:{}:repository/{}",
                at.partition, at.region, at.account, n.name
            )
        })
        .collect();
    if repos.is_empty() {
        return Vec::new();
    }
    let push = Statement::allow([
        "ecr:BatchCheckLayerAvailability",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ])
    .sid("ImagePush");
    vec![
        repos.into_iter().fold(push, Statement::on),
        Statement::allow(["ecr:GetAuthorizationToken"])
            .sid("RegistryLogin")
            .on_any(NO_RESOURCE_TYPE),
    ]
}

fn summary(p: &GeneratedPolicy) -> Value {
    json!({
        "size": p.size(),
        "statements": p.document.statements().len(),
        "wildcards": p.wildcards.iter().map(|w| json!({"action": w.action, "reason": w.reason})).collect::<Vec<_>>(),
        "not_granted": p.ungranted.iter().map(|(a, k)| json!({"action": a, "kind": k})).collect::<Vec<_>>(),
    })
}

/// The account `--account` names, else the caller's (STS, through `ctx` when the command has
/// one loaded already).
async fn account(opts: &Options, ctx: Option<&Context>) -> Result<String, Error> {
    if let Some(a) = &opts.account {
        return Ok(a.clone());
    }
    Ok(match ctx {
        Some(ctx) => caller_account(ctx).await?,
        None => caller_account(&Context::load(opts.env.clone()).await?).await?,
    })
}

/// `policy`: print `{"plan": …, "deploy": …, "release": …}` on stdout, and their sizes and
/// `*` actions on stderr (or in the JSON with `--json`).
pub(crate) async fn print(stack: &Stack, opts: &Options) -> Result<(), Error> {
    let p = policies(stack, opts, &account(opts, None).await?)?;
    let mut out = json!({
        "plan": p.plan.json(),
        "deploy": p.deploy.json(),
        "release": p.release.json(),
    });
    if opts.json {
        out["about"] = json!({
            "plan": summary(&p.plan),
            "deploy": summary(&p.deploy),
            "release": summary(&p.release),
            "facts": skyforge::iam::deploy::facts_source(),
        });
    } else {
        for (name, g) in [
            ("plan", &p.plan),
            ("deploy", &p.deploy),
            ("release", &p.release),
        ] {
            eprintln!(
                "{name}: {} statements, {} characters in {} managed policies of at most {MAX_MANAGED_CHARS}, \
                 {} actions on \"*\"",
                g.document.statements().len(),
                g.size(),
                parts(g)?.len(),
                g.wildcards.len()
            );
        }
        for (action, kind) in &p.deploy.ungranted {
            eprintln!(
                "not granted: {action} ({kind}): reads a value from a resource the stack holds \
                 none of; a value from outside the stack needs a grant of its own"
            );
        }
        if opts.state_bucket.is_none() {
            eprintln!("no --state-bucket: the policies grant no state access (local state)");
        }
    }
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    Ok(())
}

fn parts(g: &GeneratedPolicy) -> Result<Vec<skyforge::iam::PolicyDocument>, Error> {
    g.split(MAX_MANAGED_CHARS)
        .ok_or_else(|| format!("a statement is larger than {MAX_MANAGED_CHARS} characters").into())
}

/// `ci-identity`: the stack `<stack>-ci` with the provider and the three roles, applied (or
/// destroyed) under its own lock and state.
pub(crate) async fn ci_identity(stack: &Stack, opts: &Options) -> Result<(), Error> {
    opts.ci.validate()?;
    let owner = match opts.env.owner_id() {
        Some(o) => format!("{o}-ci"),
        None => "ci".to_string(),
    };
    let mut o = opts.clone();
    o.env = opts.env.clone().owner(owner);
    o.command = if opts.ci_destroy {
        crate::Command::Destroy
    } else {
        crate::Command::Apply
    };
    crate::approval::check_approval(&o)?;
    let ctx = Context::load(o.env.clone()).await?;
    let p = policies(stack, opts, &account(opts, Some(&ctx)).await?)?;
    let mut ci = Stack::new(o.env.clone());
    let docs = skyforge::iam::ci::CiPolicies {
        plan: parts(&p.plan)?,
        deploy: parts(&p.deploy)?,
        release: parts(&p.release)?,
    };
    let roles = skyforge::iam::ci::add_ci_identity(&mut ci, &opts.ci, docs, opts.max_session)?;
    ci.export("plan_role_arn", roles.plan);
    ci.export("deploy_role_arn", roles.deploy);
    ci.export("release_role_arn", roles.release);
    let b = crate::backend(&o, &ctx, &ci).await?;
    crate::run_stack(&ci, &o, &ctx, &b).await
}
