//! The execution role may read exactly the secrets the containers reference; the task role has
//! the spec's grants; `*` only where IAM has no resource.

use serde_json::Value;
use skyforge_compute::roles::{ECR_TOKEN_REASON, execution_statements};
use skyforge_compute::{Container, Image};
use skyforge_core::{Inputs, Stage};
use skyforge_iam::PolicyDocument;

use crate::fixtures::{api_with, world};

#[test]
fn the_execution_policy_lists_exactly_the_referenced_secret_arns() {
    let w = world("alva", Stage::Staging);
    let svc = api_with(&w, |s| {
        let jwt = w.jwt.whole();
        s.containers[0] = s.containers[0].clone().secret("JWT_PRIVATE_KEY", jwt);
        // A second key of the same secret: the same ARN, listed once.
        s.containers[0] = s.containers[0]
            .clone()
            .secret("DB_PASSWORD", w.db.key("password").unwrap());
        s.containers
            .push(Container::new("side", Image::external("busybox")).essential(false));
    })
    .unwrap();
    let log = skyforge_core::Ref::<String>::new(w.cluster.node(), "log_arn");
    let doc = PolicyDocument::new(execution_statements(svc.spec(), log));
    assert_eq!(
        doc.render(&Inputs::none()),
        None,
        "unknown until the secrets exist"
    );
    let db_arn = "arn:aws:secretsmanager:us-east-1:1:secret:alva/staging/database-AbCdEf";
    let jwt_arn = "arn:aws:secretsmanager:us-east-1:1:secret:alva/staging/jwt-private-key-GhIjKl";
    let repo_arn = "arn:aws:ecr:us-east-1:1:repository/alva/staging/api";
    let inputs = Inputs::none()
        .with(&w.db.key("password").unwrap().arn(), db_arn.to_string())
        .with(&w.jwt.whole().arn(), jwt_arn.to_string())
        .with(&w.repo.arn(), repo_arn.to_string())
        .with(
            &log,
            "arn:aws:logs:us-east-1:1:log-group:/ecs/alva/staging/api".to_string(),
        );
    let v = doc.render(&inputs).unwrap();
    let statements = v["Statement"].as_array().unwrap();
    let by_sid = |sid: &str| {
        statements
            .iter()
            .find(|s| s["Sid"] == sid)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        by_sid("Secrets")["Resource"],
        serde_json::json!([db_arn, jwt_arn])
    );
    assert_eq!(
        by_sid("Secrets")["Action"],
        serde_json::json!(["secretsmanager:GetSecretValue"])
    );
    assert_eq!(by_sid("EcrPull")["Resource"], serde_json::json!([repo_arn]));
    assert_eq!(
        by_sid("Logs")["Resource"],
        serde_json::json!(["arn:aws:logs:us-east-1:1:log-group:/ecs/alva/staging/api:*"])
    );
    let wildcards: Vec<&Value> = statements
        .iter()
        .filter(|s| s["Resource"] == serde_json::json!(["*"]))
        .collect();
    assert_eq!(wildcards.len(), 1, "{v}");
    assert_eq!(
        wildcards[0]["Action"],
        serde_json::json!(["ecr:GetAuthorizationToken"])
    );
    assert!(ECR_TOKEN_REASON.contains("GetAuthorizationToken"));
    assert!(statements.iter().all(|s| s.get("Sid").is_some()), "{v}");
    assert_eq!(statements.len(), 4, "{v}");
}

#[test]
fn external_images_need_no_registry_permission() {
    let w = world("alva", Stage::Staging);
    let svc = api_with(&w, |s| {
        s.containers = vec![Container::new("api", Image::external("nginx:1.27")).port(3001)];
    })
    .unwrap();
    let log = skyforge_core::Ref::<String>::new(w.cluster.node(), "log_arn");
    let doc = PolicyDocument::new(execution_statements(svc.spec(), log));
    let v = doc
        .render(&Inputs::none().with(&log, "arn:aws:logs:x:1:log-group:/g".to_string()))
        .unwrap()
        .to_string();
    assert!(!v.contains("ecr:"), "{v}");
    assert!(!v.contains("secretsmanager"), "{v}");
}
