use skyforge_core::{ArnName, Declaration, Permissions};

use super::*;
use crate::eval::{Request, allows};

const DB: Permissions = Permissions {
    observe: &["rds:DescribeDBInstances"],
    create: &["rds:CreateDBInstance", "rds:AddTagsToResource"],
    update: &["rds:ModifyDBInstance"],
    delete: &["rds:DeleteDBInstance"],
};
const SUBNET: Permissions = Permissions {
    observe: &["ec2:DescribeSubnets"],
    create: &["ec2:CreateSubnet", "ec2:CreateTags"],
    update: &["ec2:ModifySubnetAttribute"],
    delete: &["ec2:DeleteSubnet"],
};
const SECRET_ORPHANS: Permissions = Permissions {
    observe: &["secretsmanager:ListSecrets"],
    create: &[],
    update: &[],
    delete: &["secretsmanager:DeleteSecret"],
};

fn decl(kind: &str, p: Permissions, names: Vec<ArnName>, orphans: bool) -> Declaration {
    Declaration {
        kind: kind.into(),
        id: None,
        orphans,
        permissions: Some(p),
        names,
    }
}

fn stack() -> Vec<Declaration> {
    vec![
        decl(
            "db_instance",
            DB,
            vec![
                ArnName::new("rds:db", "alva-staging-main"),
                ArnName::new("rds:subgrp", "alva-staging-main"),
                ArnName::new("rds:pg", "alva-staging-main-postgres16"),
            ],
            false,
        ),
        decl("subnet", SUBNET, vec![], false),
        decl("secret", SECRET_ORPHANS, vec![], true),
    ]
}

fn at() -> ArnContext {
    ArnContext::new("us-east-1", "123456789012")
}

fn policy() -> Value {
    let decls = stack();
    let input = PolicyInput {
        declarations: &decls,
        stack: "alva-staging",
        at: &at(),
    };
    deploy_policy(input, vec![]).unwrap().json()
}

const DB_ARN: &str = "arn:aws:rds:us-east-1:123456789012:db:alva-staging-main";

#[test]
fn named_writes_go_to_exactly_the_declared_names() {
    let p = policy();
    assert!(allows(&p, &Request::new("rds:DeleteDBInstance", DB_ARN)));
    let other = "arn:aws:rds:us-east-1:123456789012:db:alva-staging-alice-main";
    assert!(!allows(&p, &Request::new("rds:DeleteDBInstance", other)));
    let pg = "arn:aws:rds:us-east-1:123456789012:pg:alva-staging-main-postgres16";
    assert!(allows(&p, &Request::new("rds:CreateDBInstance", pg)));
}

#[test]
fn id_named_writes_need_the_stack_tag_on_the_resource_or_in_the_create() {
    let p = policy();
    let subnet = "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0abc";
    let vpc = "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0abc";
    let tag = "aws:ResourceTag/skyforge:stack";
    let ours = Request::new("ec2:DeleteSubnet", subnet).with(tag, "alva-staging");
    assert!(allows(&p, &ours));
    let theirs = Request::new("ec2:DeleteSubnet", subnet).with(tag, "alva-prod");
    assert!(!allows(&p, &theirs));
    let create = Request::new("ec2:CreateSubnet", subnet)
        .with("aws:RequestTag/skyforge:stack", "alva-staging");
    assert!(allows(&p, &create));
    let untagged = Request::new("ec2:CreateSubnet", subnet);
    assert!(!allows(&p, &untagged));
    // The VPC a subnet is created in must be the stack's.
    let in_vpc = Request::new("ec2:CreateSubnet", vpc).with(tag, "alva-staging");
    assert!(allows(&p, &in_vpc));
}

#[test]
fn orphan_deletes_go_to_resources_tagged_for_the_stack() {
    let p = policy();
    let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:old-x-AbCdEf";
    let tag = "aws:ResourceTag/skyforge:stack";
    let ours = Request::new("secretsmanager:DeleteSecret", secret).with(tag, "alva-staging");
    assert!(allows(&p, &ours));
    let theirs = Request::new("secretsmanager:DeleteSecret", secret).with(tag, "dougust-prod");
    assert!(!allows(&p, &theirs));
}

#[test]
fn reads_are_type_wide_or_any_with_the_reason_listed() {
    let decls = stack();
    let input = PolicyInput {
        declarations: &decls,
        stack: "alva-staging",
        at: &at(),
    };
    let g = deploy_policy(input, vec![]).unwrap();
    let p = g.json();
    assert!(allows(&p, &Request::new("ec2:DescribeSubnets", "*")));
    assert!(allows(&p, &Request::new("secretsmanager:ListSecrets", "*")));
    let actions: Vec<&str> = g.wildcards.iter().map(|w| w.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "ec2:DescribeSubnets",
            "rds:DescribeDBInstances",
            "secretsmanager:ListSecrets"
        ]
    );
    assert!(!allows(&p, &Request::new("rds:DeleteDBInstance", "*")));
}

#[test]
fn a_release_writes_only_what_a_release_changes() {
    const SERVICE: Permissions = Permissions {
        observe: &["ecs:DescribeServices"],
        create: &["ecs:CreateService"],
        update: &["ecs:UpdateService"],
        delete: &["ecs:DeleteService"],
    };
    let mut decls = stack();
    decls.push(decl(
        "ecs_service",
        SERVICE,
        vec![ArnName::new("ecs:service", "alva-staging/alva-staging-api")],
        false,
    ));
    let input = PolicyInput {
        declarations: &decls,
        stack: "alva-staging",
        at: &at(),
    };
    let p = release_policy(input, vec![]).unwrap().json();
    let svc = "arn:aws:ecs:us-east-1:123456789012:service/alva-staging/alva-staging-api";
    assert!(allows(&p, &Request::new("ecs:UpdateService", svc)));
    assert!(allows(&p, &Request::new("ecs:DescribeServices", svc)));
    assert!(!allows(&p, &Request::new("ecs:DeleteService", svc)));
    assert!(!allows(&p, &Request::new("ecs:CreateService", svc)));
    assert!(!allows(&p, &Request::new("rds:DeleteDBInstance", DB_ARN)));
}

#[test]
fn a_write_to_an_undeclared_name_or_an_unknown_action_is_refused() {
    let mut decls = stack();
    decls[0].names.clear();
    let input = PolicyInput {
        declarations: &decls,
        stack: "alva-staging",
        at: &at(),
    };
    let e = deploy_policy(input, vec![]).unwrap_err().to_string();
    assert!(e.contains("rds:CreateDBInstance of db_instance"), "{e}");
    assert!(e.contains("rds:db"), "{e}");
    const BAD: Permissions = Permissions {
        observe: &["rds:DescribeEverything"],
        ..Permissions::NONE
    };
    let decls = vec![decl("odd", BAD, vec![], false)];
    let input = PolicyInput {
        declarations: &decls,
        stack: "alva-staging",
        at: &at(),
    };
    let e = deploy_policy(input, vec![]).unwrap_err().to_string();
    assert!(
        e.contains("rds:DescribeEverything (declared by odd)"),
        "{e}"
    );
}

#[test]
fn a_large_policy_splits_into_documents_within_the_limit_keeping_every_statement() {
    let decls = stack();
    let input = PolicyInput {
        declarations: &decls,
        stack: "alva-staging",
        at: &at(),
    };
    let g = deploy_policy(input, vec![]).unwrap();
    let whole = g.size();
    let parts = g.split(1_200).unwrap();
    assert!(
        parts.len() > 1,
        "{whole} characters in {} part(s)",
        parts.len()
    );
    let mut statements = 0;
    for p in &parts {
        let doc = p.render(&Inputs::none()).unwrap();
        assert!(size(&doc) <= 1_200, "{}", size(&doc));
        statements += p.statements().len();
    }
    assert_eq!(statements, g.document.statements().len());
    assert!(g.split(100).is_none(), "a statement larger than the limit");
}
