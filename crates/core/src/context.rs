//! The runtime context: one `SdkConfig`, clients built lazily per service.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::BehaviorVersion;
use aws_types::SdkConfig;
use aws_types::region::Region;

use crate::env::Environment;
use crate::error::{Error, Result};

/// Shared state of one run: the environment, the AWS configuration and the service clients.
///
/// The configuration comes from the standard credential chain and honours `AWS_ENDPOINT_URL` and
/// the per-service `AWS_ENDPOINT_URL_<SERVICE>` variables. Each area crate builds its client
/// through [`Context::client`], once per context.
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    env: Environment,
    sdk: SdkConfig,
    endpoint_overridden: bool,
    /// Wait deadlines set by the user, by kind (`nat_gateway`) or resource (`nat_gateway.main-nat-1`).
    deadlines: std::collections::BTreeMap<String, std::time::Duration>,
    clients: Arc<Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>>,
    /// Listings made once per plan ([`Context::memo`]); `None` outside a plan.
    memo: Option<Mutex<HashMap<String, Arc<Memo>>>>,
    /// Requests and retries of the clients (counted when [`Context::load`] built them).
    counter: Arc<crate::tally::Counter>,
}

type Memo = tokio::sync::OnceCell<Arc<dyn Any + Send + Sync>>;

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("stack", &self.inner.env.prefix())
            .field("region", &self.inner.sdk.region())
            .field("endpoint_overridden", &self.inner.endpoint_overridden)
            .finish_non_exhaustive()
    }
}

fn env_endpoint_set() -> bool {
    std::env::vars_os().any(|(k, v)| {
        k.to_str()
            .is_some_and(|k| k == "AWS_ENDPOINT_URL" || k.starts_with("AWS_ENDPOINT_URL_"))
            && !v.is_empty()
    })
}

/// Attempts per AWS call (the first and up to eleven retries) under [`retry_config`].
pub const MAX_ATTEMPTS: u32 = 12;

/// The SDK retry policy for infrastructure work, which [`Context::load`] installs:
/// [`MAX_ATTEMPTS`] attempts with jittered exponential backoff, so that throttling bursts and
/// 5xx answers are ridden out rather than failing a deploy (the SDK's default gives up after 3
/// attempts; Terraform's AWS provider retries up to 25 times).
///
/// Against AWS the mode is adaptive (the client slows its own request rate once AWS throttles
/// it) and backoff grows to 20 s. Against an emulator (`emulator = true`) the mode is standard
/// and backoff starts at 20 ms and stays under 0.5 s: the emulator's injected faults are not a
/// real rate limit, and the adaptive limiter made 20 deploy cycles at 10 % injected faults take
/// 483 s instead of 21 s (one run each). A context made with [`Context::from_sdk_config`] keeps the
/// policy of the configuration it is given.
pub fn retry_config(emulator: bool) -> aws_config::retry::RetryConfig {
    use aws_config::retry::RetryConfig;
    use std::time::Duration;
    if emulator {
        RetryConfig::standard()
            .with_max_attempts(MAX_ATTEMPTS)
            .with_initial_backoff(Duration::from_millis(20))
            .with_max_backoff(Duration::from_millis(500))
    } else {
        RetryConfig::adaptive()
            .with_max_attempts(MAX_ATTEMPTS)
            .with_max_backoff(Duration::from_secs(20))
    }
}

impl Context {
    /// Load the AWS configuration from the standard chain for `env` (its region, when set, wins).
    pub async fn load(env: Environment) -> Result<Self> {
        env.validate()?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(retry_config(env_endpoint_set()));
        if let Some(r) = env.region_name() {
            loader = loader.region(Region::new(r.to_string()));
        }
        let counter = Arc::new(crate::tally::Counter::default());
        loader = loader.http_client(crate::tally::Counting {
            inner: crate::tally::default_https(),
            counter: counter.clone(),
        });
        let sdk = loader.load().await;
        if sdk.region().is_none() {
            return Err(Error::Config(
                "no AWS region: set it on the Environment or in AWS_REGION".into(),
            ));
        }
        Ok(Self::new(env, sdk, counter))
    }

    /// The requests this context's clients sent so far and how many were retries, by service
    /// (counted for a context made by [`Context::load`]; zero for one made from a given
    /// configuration).
    pub fn tally(&self) -> crate::tally::Tally {
        self.inner.counter.snapshot()
    }

    /// A context over an existing `SdkConfig` (tests, custom credential providers).
    pub fn from_sdk_config(env: Environment, sdk: SdkConfig) -> Self {
        Self::new(env, sdk, Arc::default())
    }

    fn new(env: Environment, sdk: SdkConfig, counter: Arc<crate::tally::Counter>) -> Self {
        let endpoint_overridden = sdk.endpoint_url().is_some() || env_endpoint_set();
        Context {
            inner: Arc::new(Inner {
                env,
                sdk,
                endpoint_overridden,
                deadlines: Default::default(),
                clients: Arc::default(),
                memo: None,
                counter,
            }),
        }
    }

    /// The environment.
    pub fn env(&self) -> &Environment {
        &self.inner.env
    }

    /// The AWS configuration.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.inner.sdk
    }

    /// The region in use.
    pub fn region(&self) -> &str {
        self.inner.sdk.region().map(Region::as_ref).unwrap_or("")
    }

    /// Whether an endpoint override is in force (an emulator such as LocalStack): S3 clients must
    /// then use path-style addressing.
    pub fn endpoint_overridden(&self) -> bool {
        self.inner.endpoint_overridden
    }

    /// This context with the wait deadline of `target` set to `deadline`: `target` is a kind
    /// (`nat_gateway`, every NAT gateway) or a resource (`nat_gateway.main-nat-1`, which wins
    /// over its kind). Clients are built again on first use.
    pub fn with_deadline(&self, target: impl Into<String>, deadline: std::time::Duration) -> Self {
        let mut deadlines = self.inner.deadlines.clone();
        deadlines.insert(target.into(), deadline);
        self.derive(deadlines, None)
    }

    fn derive(
        &self,
        deadlines: std::collections::BTreeMap<String, std::time::Duration>,
        memo: Option<Mutex<HashMap<String, Arc<Memo>>>>,
    ) -> Self {
        Context {
            inner: Arc::new(Inner {
                env: self.inner.env.clone(),
                sdk: self.inner.sdk.clone(),
                endpoint_overridden: self.inner.endpoint_overridden,
                deadlines,
                clients: self.inner.clients.clone(),
                memo,
                counter: self.inner.counter.clone(),
            }),
        }
    }

    /// This context for one plan: a listing made through [`Context::memo`] is made once and
    /// shared by every node and orphan lister of the plan. Apply uses the plain context, so what
    /// it observes after a change is fresh.
    pub(crate) fn for_plan(&self) -> Self {
        self.derive(self.inner.deadlines.clone(), Some(Mutex::default()))
    }

    /// This context without the plan's shared listings: every read is made again (an orphan
    /// found through an eventually consistent listing is confirmed with it).
    pub(crate) fn unshared(&self) -> Self {
        self.derive(self.inner.deadlines.clone(), None)
    }

    /// Whether this context serves one plan: listings made through [`Context::memo`] are shared
    /// by its nodes. A kind whose listing costs a call per item (tags read one by one) uses it
    /// only then, and reads its one resource directly otherwise.
    pub fn planning(&self) -> bool {
        self.inner.memo.is_some()
    }

    /// The value of `fetch` (a listing: every subnet carrying the stack's tags), made once per
    /// plan under `key` and shared; outside a plan, made on every call. Observation batched per
    /// kind: one call for all the stack's subnets rather than one per subnet.
    pub async fn memo<T, F, Fut>(&self, key: &str, fetch: F) -> Result<Arc<T>>
    where
        T: Any + Send + Sync,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let Some(memo) = &self.inner.memo else {
            return Ok(Arc::new(fetch().await?));
        };
        let cell = {
            let mut m = memo
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            m.entry(key.to_string()).or_default().clone()
        };
        let v = cell
            .get_or_try_init(|| async {
                fetch()
                    .await
                    .map(|t| Arc::new(t) as Arc<dyn Any + Send + Sync>)
            })
            .await?;
        v.clone()
            .downcast::<T>()
            .map_err(|_| Error::Config(format!("memo {key} holds a value of another type")))
    }

    /// How long a wait on `resource` may take: the resource's own deadline, else its kind's
    /// (both from [`Context::with_deadline`]), else the kind's default
    /// ([`crate::wait::default_deadline`]).
    pub fn deadline(&self, resource: &crate::plan::ResourceId) -> std::time::Duration {
        self.deadline_set_for(resource)
            .unwrap_or_else(|| crate::wait::default_deadline(&resource.kind))
    }

    /// The deadline the user set for `resource` or its kind with [`Context::with_deadline`],
    /// if any (a wait with a deadline of its own, such as [`crate::NotYet`], yields to it).
    pub fn deadline_set_for(
        &self,
        resource: &crate::plan::ResourceId,
    ) -> Option<std::time::Duration> {
        let d = &self.inner.deadlines;
        d.get(&resource.to_string())
            .or_else(|| d.get(&resource.kind))
            .copied()
    }

    /// The poller for a wait on `resource`, with its [`Context::deadline`].
    pub fn poller_for(&self, resource: &crate::plan::ResourceId) -> crate::wait::Poller {
        self.poller(self.deadline(resource))
    }

    /// The poller for waits of up to `deadline`: 2 s growing to 30 s against AWS, 100 ms growing
    /// to 1 s against an emulator (whose state changes take seconds, not minutes).
    pub fn poller(&self, deadline: std::time::Duration) -> crate::wait::Poller {
        use std::time::Duration;
        let mut p = crate::wait::Poller::with_deadline(deadline);
        if self.endpoint_overridden() {
            p.initial = Duration::from_millis(100);
            p.max_delay = Duration::from_secs(1);
        }
        p
    }

    /// This context with `client` as its client of type `C`: [`Context::client`] returns it
    /// instead of building one from the shared configuration. For a client that needs its own
    /// configuration (an interceptor, another endpoint or retry policy for one service), and for
    /// tests whose clients answer from mock rules (feature `testing`). The context and
    /// those derived from it share the client; set it before the first use of that service.
    pub fn with_client<C>(self, client: C) -> Self
    where
        C: Clone + Send + Sync + 'static,
    {
        self.inner
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(TypeId::of::<C>(), Box::new(client));
        self
    }

    /// The client of type `C`, built by `make` on first use and shared afterwards.
    ///
    /// ```no_run
    /// # async fn f(ctx: &skyforge_core::Context) {
    /// // in an area crate: let ec2 = ctx.client(aws_sdk_ec2::Client::new);
    /// # }
    /// ```
    pub fn client<C>(&self, make: impl FnOnce(&SdkConfig) -> C) -> C
    where
        C: Clone + Send + Sync + 'static,
    {
        let key = TypeId::of::<C>();
        // A poisoned lock only means another thread panicked while inserting a client; the map
        // itself is still consistent.
        let mut map = self
            .inner
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = map.get(&key).and_then(|b| b.downcast_ref::<C>()) {
            return c.clone();
        }
        let c = make(&self.inner.sdk);
        map.insert(key, Box::new(c.clone()));
        c
    }
}
