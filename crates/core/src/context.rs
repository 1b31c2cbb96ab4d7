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
    clients: Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
}

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

impl Context {
    /// Load the AWS configuration from the standard chain for `env` (its region, when set, wins).
    pub async fn load(env: Environment) -> Result<Self> {
        env.validate()?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(r) = env.region_name() {
            loader = loader.region(Region::new(r.to_string()));
        }
        let sdk = loader.load().await;
        if sdk.region().is_none() {
            return Err(Error::Config(
                "no AWS region: set it on the Environment or in AWS_REGION".into(),
            ));
        }
        Ok(Self::from_sdk_config(env, sdk))
    }

    /// A context over an existing `SdkConfig` (tests, custom credential providers).
    pub fn from_sdk_config(env: Environment, sdk: SdkConfig) -> Self {
        let endpoint_overridden = sdk.endpoint_url().is_some() || env_endpoint_set();
        Context {
            inner: Arc::new(Inner {
                env,
                sdk,
                endpoint_overridden,
                clients: Mutex::new(HashMap::new()),
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
