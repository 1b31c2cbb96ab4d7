use proptest::prelude::*;
use skyforge_core::naming::{NameKind, is_valid, physical_name, validate_logical_id};
use skyforge_core::tags::{self, diff_tags};
use skyforge_core::{Environment, Error, Stage};

fn segment(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-z][a-z0-9]{{0,{}}}", max - 1)).unwrap()
}
/// Valid logical ids: the pattern reaches 67 characters, the rule allows 64.
fn logical() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-z][a-z0-9]{0,14}(-[a-z0-9]{1,12}){0,4}")
        .unwrap()
        .prop_filter("at most 64 characters", |l| l.len() <= 64)
}
fn stage() -> impl Strategy<Value = Stage> {
    prop_oneof![
        Just(Stage::Staging),
        Just(Stage::Prod),
        segment(12).prop_map(Stage::Named)
    ]
}
fn env() -> impl Strategy<Value = Environment> {
    (
        segment(20).prop_filter("reserved", |p| {
            !["sg", "internal", "default", "aws", "amazon"].contains(&p.as_str())
        }),
        stage(),
        proptest::option::of(segment(16)),
    )
        .prop_map(|(p, s, o)| {
            let e = Environment::new(p, s);
            match o {
                Some(o) => e.owner(o),
                None => e,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn names_fit_the_rules_of_every_kind(e in env(), l in logical()) {
        for &kind in NameKind::ALL {
            let n = physical_name(&e, kind, &l).unwrap();
            prop_assert!(n.len() <= kind.rules().max_len, "{kind:?} {n} too long");
            prop_assert!(is_valid(kind, &n), "{kind:?} {n} invalid");
            // Deterministic.
            prop_assert_eq!(&n, &physical_name(&e, kind, &l).unwrap());
        }
    }

    #[test]
    fn different_inputs_give_different_names(
        a in env(), la in logical(), b in env(), lb in logical()
    ) {
        // The owner is either set on both or on neither: see docs/naming.md for why the
        // ownership tags (not the name) separate an owner-less stack from an owned one.
        prop_assume!(a.owner_id().is_some() == b.owner_id().is_some());
        let same_input = a.project_name() == b.project_name()
            && a.stage() == b.stage()
            && a.owner_id() == b.owner_id()
            && la == lb;
        prop_assume!(!same_input);
        for &kind in NameKind::ALL {
            prop_assert_ne!(
                physical_name(&a, kind, &la).unwrap(),
                physical_name(&b, kind, &lb).unwrap(),
                "{:?}", kind
            );
        }
    }

    #[test]
    fn truncation_keeps_names_distinct_for_long_ids(
        e in env(), stem in "[a-z]{40}", x in "[a-z0-9]{1,8}", y in "[a-z0-9]{1,8}"
    ) {
        prop_assume!(x != y);
        let a = format!("{stem}-{x}");
        let b = format!("{stem}-{y}");
        for kind in [NameKind::LoadBalancer, NameKind::TargetGroup, NameKind::CacheCluster] {
            prop_assert_ne!(physical_name(&e, kind, &a).unwrap(), physical_name(&e, kind, &b).unwrap());
        }
    }

    #[test]
    fn tag_diff_ignores_foreign_keys(extra in proptest::collection::btree_map("[A-Za-z:]{1,12}", "[a-z]{0,8}", 0..5)) {
        let env = Environment::new("alva", Stage::Staging).tag("team", "core");
        let desired = tags::resource_tags(&env, "api");
        let mut observed = desired.clone();
        for (k, v) in extra {
            if !k.starts_with("skyforge:") && !desired.contains_key(&k) {
                observed.insert(k, v);
            }
        }
        prop_assert!(diff_tags(&desired, &observed).is_empty());
    }
}

#[test]
fn readable_names_when_they_fit() {
    let env = Environment::new("alva", Stage::Staging).owner("chuong");
    assert_eq!(
        physical_name(&env, NameKind::LoadBalancer, "public").unwrap(),
        "alva-staging-chuong-public"
    );
    assert_eq!(
        physical_name(&env, NameKind::SsmParameter, "database-url").unwrap(),
        "/alva/staging/chuong/database-url"
    );
    let tg = physical_name(&env, NameKind::TargetGroup, "admin-frontend").unwrap();
    assert_eq!(tg.len(), 32);
    assert!(tg.starts_with("alva-staging-chuong-adm"), "{tg}");
}

#[test]
fn bad_segments_are_rejected_with_field_and_rule() {
    let cases = [
        (
            Environment::new("Alva", Stage::Staging),
            "environment.project",
        ),
        (
            Environment::new("al-va", Stage::Staging),
            "environment.project",
        ),
        (
            Environment::new("sg", Stage::Staging),
            "environment.project",
        ),
        (
            Environment::new("alva", Stage::Named("pr-1".into())),
            "environment.stage",
        ),
        (
            Environment::new("alva", Stage::Prod).owner("x_y"),
            "environment.owner",
        ),
        (
            Environment::new("alva", Stage::Prod).region("mars"),
            "environment.region",
        ),
        (
            Environment::new("alva", Stage::Prod).tag("skyforge:stack", "x"),
            "environment.tags[skyforge:stack]",
        ),
        (
            Environment::new("alva", Stage::Prod).tag("aws:cloudformation", "x"),
            "environment.tags[aws:cloudformation]",
        ),
    ];
    for (env, field) in cases {
        match env.validate() {
            Err(Error::Validation { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: expected a validation error, got {other:?}"),
        }
    }
    for bad in ["", "Api", "api-", "a--b", "1api", "api_x"] {
        assert!(validate_logical_id("logical_id", bad).is_err(), "{bad}");
    }
}

#[test]
fn ownership_tags_and_diff() {
    let env = Environment::new("alva", Stage::Prod)
        .owner("chuong")
        .tag("cost-center", "42");
    let t = tags::resource_tags(&env, "db");
    assert_eq!(t["skyforge:stack"], "alva-prod-chuong");
    assert_eq!(t["skyforge:logical-id"], "db");
    assert_eq!(t["skyforge:managed-by"], "skyforge");
    assert_eq!(t["cost-center"], "42");
    assert!(tags::is_owned_by(&t, &env));
    assert!(!tags::is_owned_by(
        &t,
        &Environment::new("alva", Stage::Prod)
    ));

    let mut observed = t.clone();
    observed.insert("aws:cloudformation:stack-name".into(), "x".into());
    observed.insert("skyforge:legacy".into(), "1".into());
    observed.insert("cost-center".into(), "41".into());
    let d = diff_tags(&t, &observed);
    assert_eq!(d.set.get("cost-center").map(String::as_str), Some("42"));
    assert_eq!(d.remove, vec!["skyforge:legacy".to_string()]);
}
