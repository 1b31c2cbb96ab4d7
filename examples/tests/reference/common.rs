//! What the reference-deploy tests share: running a binary as CI does, reading its answers,
//! the seed-independent steps of a deploy's life (plan, apply, no-op plan, outputs, destroy with
//! the allowances the refusal names, empty inventory), and the live lookups the checks use.

use std::path::PathBuf;
use std::process::Command;

use skyforge::core::{Environment, Stage};
use skyforge_integration_tests::{TestStack, ecs_service, inventory};

/// Fail loudly when the suite is not run against the emulator.
pub fn require_endpoint() {
    assert!(
        !std::env::var("AWS_ENDPOINT_URL")
            .unwrap_or_default()
            .is_empty(),
        "AWS_ENDPOINT_URL is not set: run through `bash scripts/test.sh`"
    );
}

/// A current-thread runtime for the checks' async lookups.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A binary's answer: exit code, stdout, and both streams together.
#[derive(Debug)]
pub struct Answer {
    pub code: Option<i32>,
    pub stdout: String,
    pub text: String,
}

impl Answer {
    /// The first JSON value of the stdout (`outputs --json`, `cost --json`, `plan --json`).
    pub fn json(&self) -> serde_json::Value {
        let start = self.stdout.find('{').unwrap_or(0);
        serde_json::Deserializer::from_str(&self.stdout[start..])
            .into_iter::<serde_json::Value>()
            .next()
            .and_then(Result::ok)
            .unwrap_or_else(|| panic!("no JSON:\n{}", self.text))
    }
    /// The resources a refused destroy names (`... you mean to lose: a, b`).
    pub fn refused(&self) -> Vec<String> {
        let list = self
            .text
            .split("you mean to lose: ")
            .nth(1)
            .and_then(|l| l.lines().next())
            .unwrap_or_else(|| panic!("no refusal list:\n{}", self.text));
        list.split(", ").map(|s| s.trim().to_string()).collect()
    }
}

/// A reference deploy's binary, run with a project of its own and a state directory of its own,
/// as CI does (no terminal).
pub struct Deploy {
    bin: &'static str,
    pub project: String,
    pub stage: String,
    pub region: String,
    owner: Option<String>,
    args: Vec<String>,
    dir: PathBuf,
    vars: Vec<(String, String)>,
    audited: std::cell::RefCell<Option<serde_json::Value>>,
}

impl Deploy {
    /// `bin` (`env!("CARGO_BIN_EXE_x")`) for `stage`, project `<short><pid>`. With
    /// `SKYFORGE_REFERENCE_LATENCY=SCALE` every deploy runs under latency mode (see
    /// [`Deploy::latency`]), for measuring apply and destroy wall times.
    pub fn new(bin: &'static str, short: &str, stage: &str) -> Deploy {
        let project = format!("{short}{}", std::process::id() % 100_000);
        let dir = std::env::temp_dir().join(format!("skyforge-{project}-{stage}"));
        std::fs::create_dir_all(&dir).unwrap();
        let d = Deploy {
            bin,
            project,
            stage: stage.into(),
            region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
            owner: None,
            args: vec![],
            dir,
            vars: vec![],
            audited: Default::default(),
        };
        match std::env::var("SKYFORGE_REFERENCE_LATENCY") {
            Ok(scale) if !scale.is_empty() => d.latency(scale.parse().expect("a scale")),
            _ => d,
        }
    }
    /// Run in `region` (`--region`).
    pub fn region(mut self, region: &str) -> Deploy {
        self.region = region.into();
        self
    }
    /// Deploy the owner's copy (`--owner`).
    pub fn owner(mut self, owner: &str) -> Deploy {
        self.owner = Some(owner.into());
        self
    }
    /// Run under the harness's latency mode at `scale`: the binary's calls are attributed to
    /// the project (`AWS_SDK_UA_APP_ID`), whose resources then pass through AWS's intermediate
    /// states for `duration x scale`.
    pub fn latency(self, scale: f64) -> Deploy {
        let app = self.project.clone();
        let d = self.var("AWS_SDK_UA_APP_ID", &app);
        runtime().block_on(async {
            TestStack::with_env(d.env()).await.set_latency(scale).await;
        });
        d
    }
    /// Pass `args` to every run (`--state-bucket B`).
    pub fn args(mut self, args: &[&str]) -> Deploy {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }
    /// Set an environment variable for every run.
    pub fn var(mut self, k: &str, v: &str) -> Deploy {
        self.vars.push((k.into(), v.into()));
        self
    }
    /// The state directory.
    pub fn state(&self) -> PathBuf {
        self.dir.join("state")
    }
    /// The outputs file `apply --outputs` writes.
    pub fn outputs_file(&self) -> PathBuf {
        self.dir.join("outputs.json")
    }
    /// The stack's environment, for the inventory and live lookups.
    pub fn env(&self) -> Environment {
        let env = Environment::new(self.project.clone(), Stage::parse(&self.stage).unwrap())
            .region(self.region.clone());
        match &self.owner {
            Some(o) => env.owner(o.clone()),
            None => env,
        }
    }
    /// The stack's name prefix (`<project>-<stage>`).
    pub fn prefix(&self) -> String {
        self.env().prefix()
    }

    /// Run `args` without approval flags, without the variables named in `unset`.
    pub fn raw(&self, args: &[&str], unset: &[&str]) -> Answer {
        let out = self
            .command_without(args, unset)
            .output()
            .expect("run the reference binary");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let text = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        Answer {
            code: out.status.code(),
            stdout,
            text,
        }
    }
    /// The command line of `args`, to start without waiting (its output piped).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = self.command_without(args, &[]);
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c
    }
    fn command_without(&self, args: &[&str], unset: &[&str]) -> Command {
        let mut c = Command::new(self.bin);
        c.args(args)
            .args(["--project", &self.project, "--stage", &self.stage])
            .args(["--region", &self.region, "--state-dir"])
            .arg(self.state());
        if let Some(o) = &self.owner {
            c.args(["--owner", o]);
        }
        c.args(&self.args);
        for (k, v) in &self.vars {
            if !unset.contains(&k.as_str()) {
                c.env(k, v);
            }
        }
        for k in unset {
            c.env_remove(k);
        }
        c
    }
    /// Run `args` as an approved CI run (`--auto-approve --require-approval never`).
    pub fn run(&self, args: &[&str]) -> Answer {
        let approved = [args, &["--auto-approve", "--require-approval", "never"]].concat();
        self.raw(&approved, &[])
    }
    /// Run `args` and require exit code 0.
    pub fn ok(&self, args: &[&str]) -> Answer {
        let a = self.run(args);
        assert_eq!(a.code, Some(0), "{} {args:?} failed:\n{}", self.bin, a.text);
        a
    }

    /// Plan (exit 2), apply writing the outputs, `check` the live stack, plan again (exit 0),
    /// `outputs --json` (returned).
    pub fn up(&self, check: impl AsyncFnOnce(&TestStack)) -> serde_json::Value {
        let plan = self.raw(&["plan", "--detailed-exitcode"], &[]);
        assert_eq!(plan.code, Some(2), "first plan:\n{}", plan.text);
        let summary = plan.text.lines().find(|l| l.starts_with("Plan:"));
        println!(
            "{}: {}",
            self.prefix(),
            summary.unwrap_or("no summary line")
        );
        let out = self.outputs_file();
        let t0 = std::time::Instant::now();
        self.ok(&["apply", "--outputs", out.to_str().unwrap()]);
        println!(
            "{}: apply took {:.1} s",
            self.prefix(),
            t0.elapsed().as_secs_f64()
        );
        runtime().block_on(async {
            let t = TestStack::with_env(self.env()).await;
            check(&t).await;
        });
        self.audit();
        let again = self.raw(&["plan", "--detailed-exitcode"], &[]);
        assert!(
            again.code == Some(0) && again.text.contains("No changes."),
            "second plan:\n{}",
            again.text
        );
        let outputs = self.ok(&["outputs", "--json"]).json();
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(
            outputs, written,
            "outputs --json and the apply's --outputs file"
        );
        outputs
    }

    /// Destroy: refused while resources holding data are not allowed (each of `held` named),
    /// then with every named one allowed; the inventory is empty afterwards.
    pub fn down(&self, held: &[&str]) {
        let refused = self.run(&["destroy"]);
        assert_eq!(refused.code, Some(1), "{}", refused.text);
        let named = refused.refused();
        for id in held {
            assert!(named.iter().any(|n| n == id), "{id} not in {named:?}");
        }
        let mut args = vec!["destroy"];
        for id in &named {
            args.extend(["--allow-destroy", id.as_str()]);
        }
        let t0 = std::time::Instant::now();
        self.ok(&args);
        println!(
            "{}: destroy took {:.1} s",
            self.prefix(),
            t0.elapsed().as_secs_f64()
        );
        self.nothing_left();
        if self.stage == "prod" {
            self.final_snapshots();
        }
        std::fs::remove_dir_all(&self.dir).ok();
    }

    /// The secure-defaults audit (`emulator.py audit`: boto3, none of skyforge's code) of the
    /// live stack: `(findings, checked)`.
    pub fn audit_findings(&self, extra: &[&str]) -> (Vec<String>, serde_json::Value) {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../integration-tests/emulator/emulator.py"
        );
        let mut c = Command::new("python3");
        c.args([script, "audit", &self.prefix(), "--stage", &self.stage])
            .args(["--region", &self.region])
            .args(extra);
        if let Some(i) = self.args.iter().position(|a| a == "--state-bucket") {
            c.args(["--state-bucket", &self.args[i + 1]]);
        }
        let out = c.output().expect("run the audit");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "audit failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("the audit's JSON");
        let findings = v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| f.as_str().unwrap_or_default().to_string())
            .collect();
        (findings, v)
    }

    /// The audit finds nothing; what it checked is printed and kept for the destroy's check.
    pub fn audit(&self) {
        let (findings, v) = self.audit_findings(&[]);
        assert_eq!(
            findings,
            Vec::<String>::new(),
            "{}: audit findings",
            self.prefix()
        );
        println!(
            "{}: audit checked {}, 0 findings",
            self.prefix(),
            v["checked"]
        );
        *self.audited.borrow_mut() = Some(v["checked"].clone());
    }

    /// A destroyed prod stack left a final snapshot of each database and cache the audit saw.
    fn final_snapshots(&self) {
        let (_, v) = self.audit_findings(&["--destroyed"]);
        let checked = self.audited.borrow().clone().unwrap_or_default();
        for (kind, counted) in [("databases", "databases"), ("caches", "caches")] {
            let had = checked[counted].as_u64().unwrap_or(0) as usize;
            let left = v[kind].as_array().map(Vec::len).unwrap_or(0);
            assert!(
                left >= had,
                "{}: {had} {kind} but {left} final snapshots: {v}",
                self.prefix()
            );
        }
    }

    /// Nothing carrying the stack's tags is left in the account.
    pub fn nothing_left(&self) {
        let left = runtime().block_on(async {
            let t = TestStack::with_env(self.env()).await;
            inventory(&t).await
        });
        assert_eq!(
            left,
            Vec::<String>::new(),
            "left behind by {}",
            self.prefix()
        );
    }
}

/// The live task definition of service `name` in cluster `main`.
pub async fn task_definition(t: &TestStack, name: &str) -> aws_sdk_ecs::types::TaskDefinition {
    let svc = ecs_service(t, "main", name).await;
    t.ctx
        .client(aws_sdk_ecs::Client::new)
        .describe_task_definition()
        .task_definition(svc.task_definition().unwrap())
        .send()
        .await
        .unwrap()
        .task_definition()
        .unwrap()
        .clone()
}

/// The live database instance `identifier`.
pub async fn db_instance(t: &TestStack, identifier: &str) -> aws_sdk_rds::types::DbInstance {
    t.ctx
        .client(aws_sdk_rds::Client::new)
        .describe_db_instances()
        .db_instance_identifier(identifier)
        .send()
        .await
        .unwrap()
        .db_instances()[0]
        .clone()
}

/// How many alarms are named under `prefix`.
pub async fn alarm_count(t: &TestStack, prefix: &str) -> usize {
    t.ctx
        .client(aws_sdk_cloudwatch::Client::new)
        .describe_alarms()
        .alarm_name_prefix(prefix)
        .send()
        .await
        .unwrap()
        .metric_alarms()
        .len()
}

/// Every secret of `names` exists.
pub async fn secrets_exist(t: &TestStack, names: &[String]) {
    let sm = t.ctx.client(aws_sdk_secretsmanager::Client::new);
    for name in names {
        sm.describe_secret()
            .secret_id(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
}

/// `cost --json` of each stage (`deploy(stage)`) agrees to the cent with the total worked out
/// by hand from the price table (`docs/cost.md` explains them line by line).
pub fn assert_costs(deploy: impl Fn(&str) -> Deploy, expected: &[(&str, f64)]) {
    for (stage, figure) in expected {
        let a = deploy(stage).raw(&["cost", "--json"], &[]);
        assert_eq!(a.code, Some(0), "cost:\n{}", a.text);
        let e = a.json();
        let monthly = e["monthly"].as_f64().unwrap();
        assert!(
            (monthly - figure).abs() < 0.01,
            "{stage}: {monthly} vs {figure}\n{e:#}"
        );
    }
}
