//! Adding a database to a stack: security group, subnet group, parameter group, log groups,
//! master credentials, the instance, and the connection secret (plus an optional SSM copy).

use skyforge_core::{Component, Input, NodeId, Ref, Stack};
use skyforge_network::{Rule, SecurityGroup};
use skyforge_secrets::{
    Generator, Parameter, ParameterValue, Secret, SecretHandle, SecretRef, SecretValue, Source,
    Template,
};

use crate::instance::{InstanceNode, KIND_INSTANCE, Wiring};
use crate::parameter_group::ParameterGroupNode;
use crate::spec::Postgres;
use crate::subnet_group::SubnetGroupNode;

/// The keys of the connection secret.
pub const URL_KEYS: [&str; 7] = [
    "url", "host", "port", "username", "password", "dbname", "engine",
];

/// A database in a stack: its endpoint and typed secret references for compute.
#[derive(Debug, Clone)]
pub struct DatabaseHandle {
    logical: String,
    instance: NodeId,
    security_group: skyforge_network::GroupHandle,
    connection: SecretHandle,
    credentials: SecretHandle,
    url_parameter: Option<SecretRef>,
}

impl DatabaseHandle {
    /// The instance node (an alarm's id-only dependency).
    pub fn node(&self) -> NodeId {
        self.instance
    }
    /// The logical id.
    pub fn logical_id(&self) -> &str {
        &self.logical
    }
    /// The endpoint's host name.
    pub fn address(&self) -> Ref<String> {
        Ref::new(self.instance, "address")
    }
    /// The port, as text.
    pub fn port(&self) -> Ref<String> {
        Ref::new(self.instance, "port")
    }
    /// The instance identifier (CloudWatch's `DBInstanceIdentifier` dimension).
    pub fn identifier(&self) -> Ref<String> {
        Ref::new(self.instance, "identifier")
    }
    /// The instance ARN.
    pub fn arn(&self) -> Ref<String> {
        Ref::new(self.instance, "arn")
    }
    /// The database's security group (to add rules to, or to reference).
    pub fn security_group(&self) -> &skyforge_network::GroupHandle {
        &self.security_group
    }
    /// `DATABASE_URL`: `postgres://user:pass@host:port/db?sslmode=require`, for an ECS secret.
    pub fn url(&self) -> SecretRef {
        self.connection
            .key("url")
            .expect("the connection secret defines `url`")
    }
    /// One part of the connection, one of [`URL_KEYS`] (`host`, `password`...); another key is
    /// an error naming it.
    pub fn key(&self, key: &str) -> skyforge_core::Result<SecretRef> {
        self.connection.key(key)
    }
    /// The whole connection secret (JSON with [`URL_KEYS`]).
    pub fn connection_secret(&self) -> &SecretHandle {
        &self.connection
    }
    /// The master credentials secret (`username`, `password`).
    pub fn credentials_secret(&self) -> &SecretHandle {
        &self.credentials
    }
    /// The SSM SecureString copy of the URL, when asked for.
    pub fn url_parameter(&self) -> Option<&SecretRef> {
        self.url_parameter.as_ref()
    }
}

fn url_template(force_ssl: bool) -> String {
    let mode = if force_ssl { "require" } else { "prefer" };
    format!("postgres://{{username}}:{{password}}@{{host}}:{{port}}/{{dbname}}?sslmode={mode}")
}

impl Component for Postgres {
    type Handle = DatabaseHandle;
    fn add_to(self, stack: &mut Stack) -> DatabaseHandle {
        crate::owned::register_kinds(stack);
        let s = self.spec;
        let id = s.logical_id.clone();
        let mode = s.apply_in(stack.env());
        let identifier = crate::instance::identifier(&s, stack.env());
        let sg = stack.add(security_group(&s));
        let subnet_group = stack.add_resource(SubnetGroupNode::new(
            id.clone(),
            s.subnets.0.iter().map(|h| Input::Ref(h.id)).collect(),
        ));
        let params = stack.add_resource(ParameterGroupNode {
            logical: id.clone(),
            family: s.family(),
            parameters: s.all_parameters(),
        });
        let log_groups = s
            .log_exports
            .iter()
            .map(|t| {
                stack.add(skyforge_logs::LogGroup::new(
                    crate::KIND_LOG_GROUP,
                    format!("{id}-{t}"),
                    format!("/aws/rds/instance/{identifier}/{t}"),
                    s.log_retention_days,
                ))
            })
            .collect();
        let credentials = stack.add(credentials_secret(&s));
        let password = credentials
            .key("password")
            .expect("the credentials secret defines `password`");
        let instance = stack.add_resource(InstanceNode {
            wiring: Wiring {
                parameter_group: Input::Ref(Ref::new(params, "name")),
                subnet_group: Input::Ref(Ref::new(subnet_group, "name")),
                security_group: Input::Ref(sg.id()),
                password: password.clone(),
                credentials_version: Ref::new(credentials.node(), "version_id"),
                log_groups,
            },
            spec: s.clone(),
            mode,
        });
        let url_secret = s.url_secret_name.clone().unwrap_or_else(|| {
            skyforge_core::naming::physical_name(
                stack.env(),
                skyforge_core::naming::NameKind::Secret,
                &format!("{id}-url"),
            )
            .unwrap_or_default()
        });
        let connection = stack.add(connection_secret(&s, url_secret, instance, &password));
        let url_parameter = s.url_parameter.as_ref().map(|path| {
            let url = connection
                .key("url")
                .expect("the connection secret defines `url`");
            stack
                .add(
                    Parameter::builder()
                        .key(path.rsplit('/').next().unwrap_or("DATABASE_URL"))
                        .path(path.clone())
                        .description(format!("DATABASE_URL of {KIND_INSTANCE}.{id}"))
                        .value(ParameterValue::Secure(Source::secret(url)))
                        .rotation(s.password_rotation.clone())
                        .build()
                        .expect("a validated database makes a valid parameter"),
                )
                .reference()
        });
        DatabaseHandle {
            logical: id,
            instance,
            security_group: sg,
            connection,
            credentials,
            url_parameter,
        }
    }
}

fn security_group(s: &crate::spec::PostgresSpec) -> SecurityGroup {
    let ingress = s
        .allow_from
        .iter()
        .map(|g| {
            Rule::tcp(s.port)
                .from(g)
                .describe(format!("PostgreSQL from {}", g.logical_id()))
        })
        .collect();
    SecurityGroup::builder()
        .vpc(s.vpc.clone())
        .name(format!("{}-db", s.logical_id))
        .description(format!("PostgreSQL {} on port {}", s.logical_id, s.port))
        .ingress(ingress)
        .allow_all_outbound(false)
        .build()
        .expect("a validated database makes a valid security group")
}

fn credentials_secret(s: &crate::spec::PostgresSpec) -> Secret {
    Secret::builder()
        .logical_id(format!("{}-credentials", s.logical_id))
        .description(format!("master credentials of database {}", s.logical_id))
        .value(SecretValue::json([
            ("username", Source::plain(s.username.clone())),
            // Letters and digits only: safe in a URL, a shell and a libpq keyword string.
            ("password", Source::generated(Generator::alphanumeric(32))),
        ]))
        .rotation(s.password_rotation.clone())
        .build()
        .expect("a validated database makes a valid secret")
}

fn connection_secret(
    s: &crate::spec::PostgresSpec,
    name: String,
    instance: NodeId,
    password: &SecretRef,
) -> Secret {
    let host = Source::output(Ref::new(instance, "address"));
    let port = Source::output(Ref::new(instance, "port"));
    let user = Source::plain(s.username.clone());
    let db = Source::plain(s.database_name.clone());
    let pass = Source::secret(password.clone());
    let url = Template::new(url_template(s.force_ssl))
        .url_part("username", user.clone())
        .url_part("password", pass.clone())
        .part("host", host.clone())
        .part("port", port.clone())
        .url_part("dbname", db.clone());
    Secret::builder()
        .logical_id(format!("{}-url", s.logical_id))
        .name(name)
        .description(format!(
            "connection to database {} (DATABASE_URL and its parts)",
            s.logical_id
        ))
        .value(SecretValue::json([
            ("url", Source::template(url)),
            ("host", host),
            ("port", port),
            ("username", user),
            ("password", pass),
            ("dbname", db),
            ("engine", Source::plain("postgres")),
        ]))
        .rotation(s.password_rotation.clone())
        .build()
        .expect("a validated database makes a valid secret")
}
