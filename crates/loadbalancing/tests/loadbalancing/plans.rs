//! Plans of seed 003's four path routes and seed 004's HTTPS with redirect and stickiness,
//! compared with snapshots (insta; see docs/testing.md).

use skyforge_core::{Environment, Plan, ResourceId, Result, Stack, Stage};
use skyforge_loadbalancing::{HealthCheck, LoadBalancer, LoadBalancerHandle, Route};
use skyforge_network::{Azs, Nat, Network, Tier};

fn lb_part(plan: &Plan) -> String {
    let mut out = String::new();
    let mut keep = false;
    for line in plan.to_string().lines() {
        if line.contains(" resource \"") {
            keep = [
                "load_balancer",
                "listener",
                "target_group",
                "security_group",
            ]
            .iter()
            .any(|k| line.contains(&format!("\"{k}")));
        }
        if line.starts_with("Warnings:") || line.starts_with("Plan:") {
            keep = true;
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn stack(
    env: Environment,
    lb: impl FnOnce(&skyforge_network::NetworkHandle) -> Result<LoadBalancer>,
) -> Result<(Stack, LoadBalancerHandle)> {
    let mut stack = Stack::new(env);
    let net = stack.add(
        Network::builder()
            .cidr("10.0.0.0/16")
            .azs(Azs::named(["us-east-1a", "us-east-1b"]))
            .tiers(vec![Tier::public("public", 24), Tier::private("app", 22)])
            .nat(Nat::Single)
            .build()?,
    );
    let h = stack.add(lb(&net)?);
    Ok((stack, h))
}

/// Seed 003 (alva, staging): `/` -> web :3000, `/api/*` -> api :3001, `/auth/*` -> auth :3002,
/// `/admin/*` -> admin :3003, HTTP only until a certificate exists.
fn seed_003() -> Result<(Stack, LoadBalancerHandle)> {
    let env = Environment::new("alva", Stage::Staging).region("us-east-1");
    stack(env, |net| {
        LoadBalancer::builder()
            .logical_id("public")
            .vpc(net.vpc_id())
            .subnets(net.public())
            .routes(vec![
                Route::default_route("web", 3000),
                Route::path("api", ["/api/*"], 3001).health(HealthCheck::path("/api/health")),
                Route::path("auth", ["/auth/*"], 3002),
                Route::path("admin", ["/admin/*"], 3003),
            ])
            .build()
    })
}

/// Seed 004 (dougust, prod): HTTP 80 redirects to HTTPS 443, target port 3000, health check
/// `/api/health`, stickiness on.
fn seed_004() -> Result<(Stack, LoadBalancerHandle)> {
    let env = Environment::new("dougust", Stage::Prod).region("us-east-1");
    stack(env, |net| {
        LoadBalancer::builder()
            .logical_id("public")
            .vpc(net.vpc_id())
            .subnets(net.public())
            .certificates(vec![
                "arn:aws:acm:us-east-1:111122223333:certificate/0b1c2d3e".to_string(),
            ])
            .routes(vec![
                Route::default_route("api", 3000)
                    .health(HealthCheck::path("/api/health"))
                    .sticky(86_400),
            ])
            .build()
    })
}

#[test]
fn seed_003_four_path_routes() {
    let (stack, lb) = seed_003().unwrap();
    let plan = stack.plan_offline().unwrap();
    insta::assert_snapshot!("003-staging", lb_part(&plan));
    assert_eq!(lb.priorities().len(), 3, "the default route has no rule");
    for r in ["api", "auth", "admin"] {
        assert!(
            plan.get(&ResourceId::new("listener_rule", format!("public-{r}")))
                .is_some()
        );
    }
    assert!(
        plan.get(&ResourceId::new("listener", "public-https"))
            .is_none()
    );
    let warnings: Vec<&str> = plan.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(
        warnings.iter().any(|w| w.contains("HTTP only")),
        "{warnings:?}"
    );
}

#[test]
fn seed_004_redirect_https_and_stickiness() {
    let (stack, lb) = seed_004().unwrap();
    let plan = stack.plan_offline().unwrap();
    insta::assert_snapshot!("004-prod", lb_part(&plan));
    let text = plan.to_string();
    assert!(text.contains("redirect:https:443:301"), "{text}");
    assert!(
        text.contains("stickiness.lb_cookie.duration_seconds"),
        "{text}"
    );
    assert!(
        text.contains("\"deletion_protection.enabled\":\"true\""),
        "{text}"
    );
    assert_eq!(lb.listener_arns().len(), 2);
    let e = lb.target_group("web").unwrap_err().to_string();
    assert!(e.contains("web"), "{e}");
}
