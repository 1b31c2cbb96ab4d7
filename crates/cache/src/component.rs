//! Adding a cache to a stack: security group, subnet group, parameter group, slow-log group,
//! AUTH token, the replication group, and the `REDIS_URL` secret.

use skyforge_core::{Component, Input, NodeId, Ref, Stack};
use skyforge_network::{Rule, SecurityGroup};
use skyforge_secrets::{Generator, Secret, SecretHandle, SecretRef, SecretValue, Source, Template};

use crate::group::{GroupNode, KIND_GROUP, Wiring};
use crate::parameter_group::ParameterGroupNode;
use crate::spec::{Redis, RedisSpec};
use crate::subnet_group::SubnetGroupNode;

/// The keys of the URL secret.
pub const URL_KEYS: [&str; 4] = ["url", "host", "port", "password"];

/// Resource kind of the slow-log group (`cache_log_group`).
pub const KIND_LOG_GROUP: &str = "cache_log_group";

/// Where an app finds Redis: a managed cache's `REDIS_URL` secret, or a plain URL (a `redis`
/// sidecar container in the same task, on loopback). Compute takes either.
#[derive(Debug, Clone, PartialEq)]
pub enum RedisUrl {
    /// The URL secret of a managed cache (ECS `valueFrom`).
    Secret(SecretRef),
    /// A URL that is not secret: `redis://127.0.0.1:6379` for a sidecar.
    Plain(String),
}

impl RedisUrl {
    /// A sidecar's URL: `redis://127.0.0.1:<port>` (loopback only, no token).
    pub fn sidecar(port: u16) -> RedisUrl {
        RedisUrl::Plain(format!("redis://127.0.0.1:{port}"))
    }
}

/// A cache in a stack: its endpoint and typed secret references for compute.
#[derive(Debug, Clone)]
pub struct CacheHandle {
    logical: String,
    group: NodeId,
    security_group: skyforge_network::GroupHandle,
    url: SecretHandle,
    token: Option<SecretHandle>,
}

impl CacheHandle {
    /// The replication group node.
    pub fn node(&self) -> NodeId {
        self.group
    }
    /// The logical id.
    pub fn logical_id(&self) -> &str {
        &self.logical
    }
    /// The primary endpoint's host name.
    pub fn address(&self) -> Ref<String> {
        Ref::new(self.group, "address")
    }
    /// The reader endpoint's host name.
    pub fn reader_address(&self) -> Ref<String> {
        Ref::new(self.group, "reader_address")
    }
    /// The port, as text.
    pub fn port(&self) -> Ref<String> {
        Ref::new(self.group, "port")
    }
    /// The replication group id (CloudWatch's `ReplicationGroupId` dimension).
    pub fn identifier(&self) -> Ref<String> {
        Ref::new(self.group, "identifier")
    }
    /// The cache's security group.
    pub fn security_group(&self) -> &skyforge_network::GroupHandle {
        &self.security_group
    }
    /// `REDIS_URL` (`rediss://:token@host:6379`), for an ECS secret.
    pub fn url(&self) -> SecretRef {
        self.url.key("url").expect("the URL secret defines `url`")
    }
    /// The URL for compute, interchangeable with [`RedisUrl::sidecar`].
    pub fn redis_url(&self) -> RedisUrl {
        RedisUrl::Secret(self.url())
    }
    /// One part: `host`, `port` or `password` (the AUTH token); another key is an error.
    pub fn key(&self, key: &str) -> skyforge_core::Result<SecretRef> {
        self.url.key(key)
    }
    /// The URL secret.
    pub fn url_secret(&self) -> &SecretHandle {
        &self.url
    }
    /// The AUTH token secret, when the cache has a token.
    pub fn token_secret(&self) -> Option<&SecretHandle> {
        self.token.as_ref()
    }
}

impl Component for Redis {
    type Handle = CacheHandle;
    fn add_to(self, stack: &mut Stack) -> CacheHandle {
        crate::owned::register_kinds(stack);
        let s = self.spec;
        let id = s.logical_id.clone();
        let env = stack.env().clone();
        let group_id = crate::group::identifier(&s, &env);
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
        let slow_log = s
            .slow_log
            .then(|| format!("/aws/elasticache/{group_id}/slow-log"));
        let log_groups = slow_log
            .iter()
            .map(|name| {
                stack.add(skyforge_logs::LogGroup::new(
                    KIND_LOG_GROUP,
                    format!("{id}-slow-log"),
                    name.clone(),
                    s.log_retention_days,
                ))
            })
            .collect();
        let token = s.authenticated().then(|| stack.add(token_secret(&s)));
        let token_ref = token.as_ref().map(|t| t.whole());
        let group = stack.add_resource(GroupNode {
            wiring: Wiring {
                parameter_group: Input::Ref(Ref::new(params, "name")),
                subnet_group: Input::Ref(Ref::new(subnet_group, "name")),
                security_group: Input::Ref(sg.id()),
                token: token_ref.clone(),
                token_version: token.as_ref().map(|t| Ref::new(t.node(), "version_id")),
                slow_log,
                log_groups,
            },
            mode: s.apply_in(&env),
            spec: s.clone(),
        });
        let name = s.url_secret_name.clone().unwrap_or_else(|| {
            skyforge_core::naming::physical_name(
                &env,
                skyforge_core::naming::NameKind::Secret,
                &format!("{id}-url"),
            )
            .unwrap_or_default()
        });
        let url = stack.add(url_secret(&s, name, group, token_ref));
        CacheHandle {
            logical: id,
            group,
            security_group: sg,
            url,
            token,
        }
    }
}

fn security_group(s: &RedisSpec) -> SecurityGroup {
    let ingress = s
        .allow_from
        .iter()
        .map(|g| {
            Rule::tcp(s.port)
                .from(g)
                .describe(format!("Redis from {}", g.logical_id()))
        })
        .collect();
    SecurityGroup::builder()
        .vpc(s.vpc.clone())
        .name(format!("{}-cache", s.logical_id))
        .description(format!("Redis {} on port {}", s.logical_id, s.port))
        .ingress(ingress)
        .allow_all_outbound(false)
        .build()
        .expect("a validated cache makes a valid security group")
}

fn token_secret(s: &RedisSpec) -> Secret {
    Secret::builder()
        .logical_id(format!("{}-auth", s.logical_id))
        .description(format!("AUTH token of cache {}", s.logical_id))
        // Letters and digits: inside ElastiCache's allowed set, and safe in a URL.
        .value(SecretValue::generated(Generator::alphanumeric(
            s.token_length,
        )))
        .rotation(s.token_rotation.clone())
        .build()
        .expect("a validated cache makes a valid secret")
}

fn url_secret(s: &RedisSpec, name: String, group: NodeId, token: Option<SecretRef>) -> Secret {
    let host = Source::output(Ref::new(group, "address"));
    let port = Source::output(Ref::new(group, "port"));
    let scheme = if s.transit_encryption {
        "rediss"
    } else {
        "redis"
    };
    let mut parts = vec![("host", host.clone()), ("port", port.clone())];
    let url = match token {
        Some(t) => {
            let pass = Source::secret(t);
            parts.push(("password", pass.clone()));
            Template::new(format!("{scheme}://:{{password}}@{{host}}:{{port}}"))
                .url_part("password", pass)
        }
        None => Template::new(format!("{scheme}://{{host}}:{{port}}")),
    }
    .part("host", host)
    .part("port", port);
    parts.push(("url", Source::template(url)));
    Secret::builder()
        .logical_id(format!("{}-url", s.logical_id))
        .name(name)
        .description(format!("REDIS_URL of {KIND_GROUP}.{}", s.logical_id))
        .value(SecretValue::json(parts))
        .rotation(s.token_rotation.clone())
        .build()
        .expect("a validated cache makes a valid secret")
}
