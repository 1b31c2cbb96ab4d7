//! skyforge-loadbalancing: bad input refused before any API call.

use skyforge_core::Stack;
use skyforge_integration_tests::{TestStack, calls_between};
use skyforge_loadbalancing::{HealthCheck, LoadBalancer, Route};
use skyforge_network::{Azs, Nat, Network, Tier};

#[tokio::test]
async fn bad_input_is_refused_before_any_call() {
    let t = TestStack::new().await;
    let before = t.calls().await;
    let mut stack = Stack::new(t.env.clone());
    let net = stack.add(
        Network::builder()
            .cidr("10.70.0.0/16")
            .azs(Azs::named(["us-east-1a", "us-east-1b"]))
            .tiers(vec![Tier::public("public", 24)])
            .nat(Nat::None)
            .build()
            .unwrap(),
    );
    let one_zone = stack.add(
        Network::builder()
            .name("one")
            .cidr("10.71.0.0/16")
            .azs(Azs::named(["us-east-1a"]))
            .tiers(vec![Tier::public("public", 24)])
            .nat(Nat::None)
            .build()
            .unwrap(),
    );
    let lb = |routes: Vec<Route>| {
        LoadBalancer::builder()
            .logical_id("public")
            .vpc(net.vpc_id())
            .subnets(net.public())
            .routes(routes)
    };
    let cert = "arn:aws:acm:us-east-1:111122223333:certificate/x".to_string();
    let six: Vec<String> = (0..6).map(|i| format!("/p{i}/*")).collect();
    let many: Vec<Route> = (0..102)
        .map(|i| Route::path(format!("r{i}"), [format!("/r{i}/*")], 80))
        .collect();
    let cases: Vec<(&str, &str, skyforge_core::Result<LoadBalancer>)> = vec![
        (
            "redirect_http",
            "true",
            lb(vec![]).redirect_http(true).build(),
        ),
        (
            "name",
            "a-name-that-is-longer-than-thirty-two",
            lb(vec![])
                .name("a-name-that-is-longer-than-thirty-two")
                .build(),
        ),
        (
            "name",
            "internal-lb",
            lb(vec![]).name("internal-lb").build(),
        ),
        (
            "certificates",
            "not-an-arn",
            lb(vec![]).certificates(vec!["not-an-arn".into()]).build(),
        ),
        (
            "ssl_policy",
            "ELBSecurityPolicy-2016-08",
            lb(vec![])
                .certificates(vec![cert.clone()])
                .ssl_policy("ELBSecurityPolicy-2016-08")
                .build(),
        ),
        (
            "idle_timeout_secs",
            "0",
            lb(vec![]).idle_timeout_secs(0).build(),
        ),
        (
            "allow_cidrs",
            "10.0.0.0",
            lb(vec![]).allow_cidrs(vec!["10.0.0.0".into()]).build(),
        ),
        (
            "allow_cidrs",
            "10.0.0.0/33",
            lb(vec![]).allow_cidrs(vec!["10.0.0.0/33".into()]).build(),
        ),
        (
            "routes",
            "api",
            lb(vec![
                Route::path("api", ["/a/*"], 80),
                Route::path("api", ["/b/*"], 80),
            ])
            .build(),
        ),
        (
            "routes",
            "two",
            lb(vec![
                Route::default_route("one", 80),
                Route::default_route("two", 80),
            ])
            .build(),
        ),
        (
            "routes.b.matches",
            "/a/*",
            lb(vec![
                Route::path("a", ["/a/*"], 80),
                Route::path("b", ["/a/*"], 80),
            ])
            .build(),
        ),
        (
            "routes.all.path",
            "/*",
            lb(vec![Route::path("all", ["/*"], 80)]).build(),
        ),
        (
            "routes.many.matches",
            "6",
            lb(vec![Route::path("many", six.clone(), 80)]).build(),
        ),
        ("routes", "102", lb(many).build()),
        (
            "routes.api.path",
            "api/*",
            lb(vec![Route::path("api", ["api/*"], 80)]).build(),
        ),
        (
            "routes.api.host",
            "api.example.com:443",
            lb(vec![Route::host("api", ["api.example.com:443"], 80)]).build(),
        ),
        (
            "routes.api.port",
            "0",
            lb(vec![Route::path("api", ["/api/*"], 0)]).build(),
        ),
        (
            "routes.api.health.path",
            "health",
            lb(vec![
                Route::path("api", ["/api/*"], 80).health(HealthCheck::path("health")),
            ])
            .build(),
        ),
        (
            "routes.api.health.interval_secs",
            "400",
            lb(vec![
                Route::path("api", ["/api/*"], 80).health(HealthCheck::path("/").interval(400)),
            ])
            .build(),
        ),
        (
            "routes.api.health.timeout_secs",
            "20",
            lb(vec![
                Route::path("api", ["/api/*"], 80)
                    .health(HealthCheck::path("/").interval(15).timeout(20)),
            ])
            .build(),
        ),
        (
            "routes.api.health.healthy_threshold",
            "1",
            lb(vec![
                Route::path("api", ["/api/*"], 80).health(HealthCheck::path("/").thresholds(1, 2)),
            ])
            .build(),
        ),
        (
            "routes.api.health.matcher",
            "600",
            lb(vec![
                Route::path("api", ["/api/*"], 80).health(HealthCheck::path("/").matcher("600")),
            ])
            .build(),
        ),
        (
            "routes.api.deregistration_delay_secs",
            "4000",
            lb(vec![
                Route::path("api", ["/api/*"], 80).deregistration_delay(4000),
            ])
            .build(),
        ),
        (
            "routes.api.stickiness_secs",
            "0",
            lb(vec![Route::path("api", ["/api/*"], 80).sticky(0)]).build(),
        ),
        (
            "routes.api.slow_start_secs",
            "10",
            lb(vec![Route::path("api", ["/api/*"], 80).slow_start(10)]).build(),
        ),
        (
            "subnets",
            "1 zone(s)",
            LoadBalancer::builder()
                .logical_id("public")
                .vpc(one_zone.vpc_id())
                .subnets(one_zone.public())
                .build(),
        ),
    ];
    let rules = skyforge_integration_tests::refused_rules(cases);
    assert!(
        rules.len() >= 20,
        "only {} distinct errors: {rules:#?}",
        rules.len()
    );
    let made = calls_between(&before, &t.calls().await);
    assert!(made.is_empty(), "{made:?}");
}
