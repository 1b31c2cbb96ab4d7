//! The invalid specs: one field broken each, on a spec that is otherwise valid.

use skyforge_cache::{Redis, RedisSpec};
use skyforge_compute::{Cluster, Container, FargateService, Image, TaskSize};
use skyforge_core::{Environment, Result, Stack};
use skyforge_database::{Postgres, PostgresSpec, Storage};
use skyforge_iam::{ManagedPolicy, PolicyDocument, Role, RoleSpec, Statement, Trust};
use skyforge_loadbalancing::{LoadBalancer, LoadBalancerSpec, Route};
use skyforge_network::{
    Azs, Nat, Network, NetworkHandle, NetworkSpec, SecurityGroup, SecurityGroupSpec, Tier,
};
use skyforge_registry::{Lifecycle, Repository, RepositorySpec};
use skyforge_secrets::{Generator, Parameter, ParameterValue, Secret, SecretValue};
use skyforge_storage::{Bucket, BucketSpec};

/// Builds the stack holding an invalid spec, or fails building the spec.
pub type Make = Box<dyn Fn(&Environment) -> Result<Stack> + Send + Sync>;

/// One invalid spec: what it breaks, and the stack holding it (or the error building it).
pub struct Case {
    pub area: &'static str,
    pub what: &'static str,
    pub make: Make,
}

fn case(
    area: &'static str,
    what: &'static str,
    make: impl Fn(&Environment) -> Result<Stack> + Send + Sync + 'static,
) -> Case {
    Case {
        area,
        what,
        make: Box::new(make),
    }
}

fn net_spec() -> Result<NetworkSpec> {
    let n = Network::builder()
        .cidr("10.0.0.0/16")
        .azs(Azs::count(2))
        .tiers(vec![
            Tier::public("public", 24),
            Tier::private("app", 22),
            Tier::isolated("data", 24),
        ])
        .nat(Nat::Single)
        .build()?;
    Ok(n.spec().clone())
}

fn with_net(env: &Environment) -> Result<(Stack, NetworkHandle)> {
    let mut stack = Stack::new(env.clone());
    let net = stack.add(Result::<Network>::from(net_spec()?)?);
    Ok((stack, net))
}

fn network(what: &'static str, edit: fn(&mut NetworkSpec)) -> Case {
    case("network", what, move |env| {
        let mut spec = net_spec()?;
        edit(&mut spec);
        let mut stack = Stack::new(env.clone());
        stack.add(Result::<Network>::from(spec)?);
        Ok(stack)
    })
}

fn group(what: &'static str, edit: fn(&mut SecurityGroupSpec)) -> Case {
    case("network", what, move |env| {
        let (mut stack, net) = with_net(env)?;
        let mut spec = SecurityGroup::builder()
            .vpc(net.vpc_id())
            .name("api")
            .description("API tasks")
            .build()?
            .spec()
            .clone();
        edit(&mut spec);
        stack.add(Result::<SecurityGroup>::from(spec)?);
        Ok(stack)
    })
}

fn postgres(what: &'static str, edit: fn(&mut PostgresSpec)) -> Case {
    case("database", what, move |env| {
        let (mut stack, net) = with_net(env)?;
        let mut spec = Postgres::builder()
            .logical_id("db")
            .vpc(net.vpc_id())
            .subnets(net.isolated())
            .version("16")
            .class("db.t3.micro")
            .storage(Storage::gp3(20))
            .build()?
            .spec()
            .clone();
        edit(&mut spec);
        stack.add(Result::<Postgres>::from(spec)?);
        Ok(stack)
    })
}

fn redis(what: &'static str, edit: fn(&mut RedisSpec)) -> Case {
    case("cache", what, move |env| {
        let (mut stack, net) = with_net(env)?;
        let mut spec = Redis::builder()
            .logical_id("cache")
            .vpc(net.vpc_id())
            .subnets(net.isolated())
            .version("7.1")
            .node_type("cache.t4g.micro")
            .build()?
            .spec()
            .clone();
        edit(&mut spec);
        stack.add(Result::<Redis>::from(spec)?);
        Ok(stack)
    })
}

fn load_balancer(what: &'static str, edit: fn(&mut LoadBalancerSpec)) -> Case {
    case("loadbalancing", what, move |env| {
        let (mut stack, net) = with_net(env)?;
        let mut spec = LoadBalancer::builder()
            .logical_id("public")
            .vpc(net.vpc_id())
            .subnets(net.public())
            .routes(vec![Route::default_route("api", 3000)])
            .build()?
            .spec()
            .clone();
        edit(&mut spec);
        stack.add(Result::<LoadBalancer>::from(spec)?);
        Ok(stack)
    })
}

fn bucket(what: &'static str, edit: fn(&mut BucketSpec)) -> Case {
    case("storage", what, move |env| {
        let mut spec = Bucket::builder()
            .logical_id("uploads")
            .build()?
            .spec()
            .clone();
        edit(&mut spec);
        let mut stack = Stack::new(env.clone());
        stack.add(Result::<Bucket>::from(spec)?);
        Ok(stack)
    })
}

fn repository(what: &'static str, edit: fn(&mut RepositorySpec)) -> Case {
    case("registry", what, move |env| {
        let mut spec = Repository::builder()
            .logical_id("api")
            .build()?
            .spec()
            .clone();
        edit(&mut spec);
        let mut stack = Stack::new(env.clone());
        stack.add(Result::<Repository>::from(spec)?);
        Ok(stack)
    })
}

fn role(what: &'static str, edit: fn(&mut RoleSpec)) -> Case {
    case("iam", what, move |env| {
        let mut spec = Role::builder()
            .logical_id("task")
            .trust(Trust::service("ecs-tasks.amazonaws.com"))
            .build()?
            .spec()
            .clone();
        edit(&mut spec);
        let mut stack = Stack::new(env.clone());
        stack.add(Result::<Role>::from(spec)?);
        Ok(stack)
    })
}

fn env_case(what: &'static str, edit: fn(Environment) -> Environment) -> Case {
    case("core", what, move |env| {
        let mut stack = Stack::new(edit(env.clone()));
        stack.add(Result::<Network>::from(net_spec()?)?);
        Ok(stack)
    })
}

fn policy(statement: Statement) -> PolicyDocument {
    PolicyDocument::new([statement])
}

pub fn all() -> Vec<Case> {
    let mut v = vec![
        env_case("a project name with punctuation", |e| {
            Environment::new("Alva!", e.stage().clone()).region(e.region_name().unwrap_or_default())
        }),
        env_case("a user tag in skyforge's namespace", |e| {
            e.tag("skyforge:owner", "me")
        }),
        env_case("a user tag in AWS's namespace", |e| e.tag("aws:team", "x")),
        env_case("a user tag value over 256 characters", |e| {
            e.tag("team", "x".repeat(300))
        }),
        env_case("an owner with a space", |e| e.owner("Bob Smith")),
        network("a CIDR prefix over 32", |s| s.cidr = "10.0.0.0/33".into()),
        network("a CIDR that is not one", |s| s.cidr = "ten.zero/16".into()),
        network("a VPC larger than /16", |s| s.cidr = "10.0.0.0/8".into()),
        network("a VPC smaller than /28", |s| s.cidr = "10.0.0.0/29".into()),
        network("no zones", |s| s.azs = Azs::count(0)),
        network("seven zones", |s| s.azs = Azs::count(7)),
        network("no tiers", |s| s.tiers = Some(vec![])),
        network("a subnet smaller than /28", |s| {
            s.tiers = Some(vec![Tier::public("public", 29)])
        }),
        network("a subnet larger than the VPC", |s| {
            s.tiers = Some(vec![Tier::public("public", 12)])
        }),
        network("two tiers of one name", |s| {
            s.tiers = Some(vec![Tier::public("web", 24), Tier::private("web", 24)])
        }),
        network("a private tier without NAT", |s| s.nat = Nat::None),
        network("a tier name with a space", |s| {
            s.tiers = Some(vec![Tier::public("web tier", 24)])
        }),
        network("more subnets than the VPC holds", |s| {
            s.tiers = Some(vec![
                Tier::public("a", 17),
                Tier::private("b", 17),
                Tier::isolated("c", 17),
            ])
        }),
        group("a group name with punctuation", |s| s.name = "api!".into()),
        group("an empty group description", |s| {
            s.description = String::new()
        }),
        group("a group description over 255 characters", |s| {
            s.description = "d".repeat(300)
        }),
        postgres("an instance class that does not exist", |s| {
            s.class = "db.x9.huge".into()
        }),
        postgres("a class without the db. prefix", |s| {
            s.class = "t3.micro".into()
        }),
        postgres("PostgreSQL 9.6", |s| s.version = "9.6".into()),
        postgres("10 GiB of gp3", |s| s.storage = Storage::gp3(10)),
        postgres("autoscaling below the size", |s| {
            s.storage = Storage::gp3(100).autoscale_to(50)
        }),
        postgres("36 days of backups", |s| s.backup_retention_days = 36),
        postgres("a backup window at 25:00", |s| {
            s.backup_window = Some("25:00-25:30".into())
        }),
        postgres("a maintenance window on funday", |s| {
            s.maintenance_window = Some("fun:01:00-fun:02:00".into())
        }),
        postgres("port 80", |s| s.port = 80),
        postgres("a reserved database name", |s| {
            s.database_name = "select".into()
        }),
        postgres("a reserved user name", |s| s.username = "rdsadmin".into()),
        postgres("a log type PostgreSQL does not export", |s| {
            s.log_exports = vec!["audit".into()]
        }),
        postgres("a log retention CloudWatch does not offer", |s| {
            s.log_retention_days = 4
        }),
        postgres("10 days of Performance Insights", |s| {
            s.performance_insights_days = Some(10)
        }),
        postgres("an identifier with an underscore", |s| {
            s.identifier = Some("Db_1".into())
        }),
        postgres("a URL secret name with spaces", |s| {
            s.url_secret_name = Some("bad name here".into())
        }),
        redis("a node type that does not exist", |s| {
            s.node_type = "cache.x1.weird".into()
        }),
        redis("Redis 5", |s| s.version = "5.0".into()),
        redis("six replicas", |s| s.replicas = 6),
        redis("port 80", |s| s.port = 80),
        redis("40 days of snapshots", |s| {
            s.snapshot_retention_days = Some(40)
        }),
        redis("a maintenance window without days", |s| {
            s.maintenance_window = Some("03:00-04:00".into())
        }),
        redis("AUTH without TLS", |s| {
            s.auth = true;
            s.transit_encryption = false
        }),
        redis("a 10-character AUTH token", |s| s.token_length = 10),
        redis("zero shards", |s| s.shards = Some(0)),
        redis("a log retention CloudWatch does not offer", |s| {
            s.log_retention_days = 4
        }),
        redis("a URL secret name with spaces", |s| {
            s.url_secret_name = Some("bad name here".into())
        }),
        redis("an identifier with an underscore", |s| {
            s.identifier = Some("Cache_1".into())
        }),
        load_balancer("an ingress CIDR that is not one", |s| {
            s.allow_cidrs = vec!["300.0.0.0/0".into()]
        }),
        load_balancer("a certificate that is not an ARN", |s| {
            s.certificates = vec!["my-cert".into()]
        }),
        load_balancer("a TLS policy AWS does not have", |s| {
            s.certificates = vec!["arn:aws:acm:us-east-1:123456789012:certificate/0a1b".into()];
            s.ssl_policy = "TLS-Whatever".into()
        }),
        load_balancer("a route to port 0", |s| {
            s.routes = vec![Route::default_route("api", 0)]
        }),
        load_balancer("an idle timeout of 0", |s| s.idle_timeout_secs = 0),
        load_balancer("an idle timeout over 4000 s", |s| {
            s.idle_timeout_secs = 5000
        }),
        load_balancer("a name over 32 characters", |s| {
            s.name = Some("a-load-balancer-name-of-40-characters-xx".into())
        }),
        load_balancer("two routes of one name", |s| {
            s.routes.push(s.routes[0].clone())
        }),
        bucket("a bucket name with capitals", |s| {
            s.name = Some("Bad_Bucket".into())
        }),
        bucket("a bucket name over 63 characters", |s| {
            s.name = Some("b".repeat(70))
        }),
        bucket("a logical id with a space", |s| {
            s.logical_id = "up loads".into()
        }),
        repository("a repository name with capitals", |s| {
            s.name = Some("Upper/Case".into())
        }),
        repository("a lifecycle keeping no image", |s| {
            s.lifecycle = Some(Lifecycle::new().keep_last(0))
        }),
        repository("a repository policy that is not an object", |s| {
            s.policy = Some(serde_json::json!("allow everything"))
        }),
        role("a logical id with punctuation", |s| {
            s.logical_id = "task!".into()
        }),
        role("a session of 100 s", |s| s.max_session_secs = 100),
        role("a managed policy that is not an ARN", |s| {
            s.managed_policies = vec!["ReadOnlyAccess".into()]
        }),
        role("an inline policy name with a space", |s| {
            let p = policy(Statement::allow(["s3:GetObject"]).on("arn:aws:s3:::b/*"));
            s.policies = [("read all".to_string(), p)].into()
        }),
        role("a statement with no resource", |s| {
            let p = policy(Statement::allow(["s3:GetObject"]));
            s.policies = [("read".to_string(), p)].into()
        }),
        role("a statement with no action", |s| {
            let p = policy(Statement::allow(Vec::<String>::new()).on("arn:aws:s3:::b"));
            s.policies = [("read".to_string(), p)].into()
        }),
        role("21 managed policies", |s| {
            s.managed_policies = (0..21)
                .map(|i| format!("arn:aws:iam::aws:policy/P{i}").into())
                .collect()
        }),
    ];
    v.extend(others());
    v
}

/// Secrets, parameters, managed policies and the CI identity: built with their own builders.
fn others() -> Vec<Case> {
    vec![
        case("secrets", "a secret name with a space", |env| {
            let mut stack = Stack::new(env.clone());
            stack.add(
                Secret::builder()
                    .logical_id("jwt")
                    .name("bad name".to_string())
                    .value(SecretValue::generated(Generator::signing_key()))
                    .build()?,
            );
            Ok(stack)
        }),
        case("secrets", "a recovery window of 3 days", |env| {
            let mut stack = Stack::new(env.clone());
            stack.add(
                Secret::builder()
                    .logical_id("jwt")
                    .value(SecretValue::generated(Generator::signing_key()))
                    .recovery_window_days(3)
                    .build()?,
            );
            Ok(stack)
        }),
        case("secrets", "a parameter key with a space", |env| {
            let mut stack = Stack::new(env.clone());
            stack.add(
                Parameter::builder()
                    .key("APP ENV")
                    .value(ParameterValue::Plain("staging".into()))
                    .build()?,
            );
            Ok(stack)
        }),
        case(
            "secrets",
            "a parameter path without a leading slash",
            |env| {
                let mut stack = Stack::new(env.clone());
                stack.add(
                    Parameter::builder()
                        .key("APP_ENV")
                        .path("alva/staging/APP_ENV".to_string())
                        .value(ParameterValue::Plain("staging".into()))
                        .build()?,
                );
                Ok(stack)
            },
        ),
        case("secrets", "a standard parameter over 4 KB", |env| {
            let mut stack = Stack::new(env.clone());
            stack.add(
                Parameter::builder()
                    .key("BIG")
                    .value(ParameterValue::Plain("x".repeat(5000)))
                    .build()?,
            );
            Ok(stack)
        }),
        case("iam", "a managed policy over 6,144 characters", |env| {
            let mut stack = Stack::new(env.clone());
            let arns: Vec<String> = (0..300)
                .map(|i| format!("arn:aws:s3:::bucket-number-{i}/*"))
                .collect();
            let st = arns
                .into_iter()
                .fold(Statement::allow(["s3:GetObject"]), Statement::on);
            stack.add(ManagedPolicy::new("big", policy(st)));
            Ok(stack)
        }),
        service(
            "a task of 256 CPU units with 4 GB",
            TaskSize::new(256, 4096),
            1,
        ),
        service("a task of 300 CPU units", TaskSize::new(300, 1024), 1),
        service("a service without containers", TaskSize::new(256, 512), 0),
        service("two containers of one name", TaskSize::new(256, 512), 2),
        case("compute", "a cluster id with punctuation", |env| {
            let mut stack = Stack::new(env.clone());
            stack.add(Cluster::builder().logical_id("main!").build()?);
            Ok(stack)
        }),
        case("logs", "a log retention CloudWatch does not offer", |env| {
            let mut stack = Stack::new(env.clone());
            let name = format!("/{}/app", env.project_name());
            stack.add(skyforge_logs::LogGroup::new(
                "app_log_group",
                "app",
                name,
                4,
            ));
            Ok(stack)
        }),
        ci_case("a repository without its owner", |w| {
            w.repositories = vec!["alva".into()]
        }),
        ci_case("an environment that is only a wildcard", |w| {
            w.environments = vec!["*".into()]
        }),
        ci_case("no environment to deploy from", |w| w.environments.clear()),
        ci_case("an empty branch name", |w| w.branches = vec![String::new()]),
    ]
}

/// A service of task size `size`, with one container (or none), the rest valid.
fn service(what: &'static str, size: TaskSize, containers: usize) -> Case {
    case("compute", what, move |env| {
        let (mut stack, net) = with_net(env)?;
        let cluster = stack.add(Cluster::builder().logical_id("main").build()?);
        let api = Container::new("api", Image::external("busybox")).port(3000);
        stack.add(
            FargateService::builder()
                .logical_id("api")
                .cluster(cluster)
                .vpc(net.vpc_id())
                .subnets(net.private())
                .size(size)
                .containers(vec![api; containers])
                .build()?,
        );
        Ok(stack)
    })
}

fn ci_case(what: &'static str, edit: fn(&mut skyforge_iam::ci::GithubSubjects)) -> Case {
    case("iam", what, move |env| {
        let mut who = skyforge_iam::ci::GithubSubjects {
            repositories: vec!["acme/alva".into()],
            branches: vec!["main".into()],
            environments: vec!["prod".into()],
        };
        edit(&mut who);
        let mut stack = Stack::new(env.clone());
        let docs = skyforge_iam::ci::CiPolicies {
            plan: vec![],
            deploy: vec![],
            release: vec![],
        };
        skyforge_iam::ci::add_ci_identity(&mut stack, &who, docs, 3600)?;
        Ok(stack)
    })
}
