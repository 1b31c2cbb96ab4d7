//! Engine safety on the fake cloud (which refuses to delete an object another object uses):
//! replacements that respect dependents, create-before-destroy, protection of resources holding
//! data, orphans, and updates that must converge.

use std::sync::Arc;

use skyforge_core::{
    Action, ApplyOptions, Environment, Error, Owned, PlanOptions, ReplaceOrder, Stack, Stage,
};

use crate::fake::{Cloud, Fake, FakeKind, KIND, ctx, ctx_for, env};

fn mutations(cloud: &Cloud) -> Vec<String> {
    std::mem::take(&mut *cloud.mutations.lock().unwrap())
}

/// parent <- child <- grandchild, plus a bystander that only orders after parent.
fn chain(cloud: &Arc<Cloud>, parent: Fake) -> Stack {
    let mut s = Stack::new(env());
    let p = s.add_resource(parent);
    let c = s.add_resource(Fake::new(cloud, "child", 1).parent(p));
    s.add_resource(Fake::new(cloud, "grandchild", 1).parent(c));
    s.add_resource(Fake::new(cloud, "bystander", 1).after(&[p]));
    s
}

#[tokio::test(start_paused = true)]
async fn a_replacement_destroys_its_dependents_first_and_recreates_them_after() {
    let cloud = Arc::new(Cloud::default());
    let ctx = ctx();
    let s = chain(&cloud, Fake::new(&cloud, "parent", 1));
    s.apply(&ctx, &s.plan(&ctx).await.unwrap()).await.unwrap();
    mutations(&cloud);

    let s = chain(&cloud, Fake::new(&cloud, "parent", 1).flavor("b"));
    let plan = s.plan(&ctx).await.unwrap();
    let action = |id: &str| {
        &plan
            .resources
            .iter()
            .find(|r| r.id.logical_id == id)
            .unwrap()
            .action
    };
    match action("parent") {
        Action::Replace {
            reason,
            order,
            dragged_by,
            ..
        } => {
            assert_eq!(reason, "flavor cannot change in place");
            assert_eq!(*order, ReplaceOrder::DestroyBeforeCreate);
            assert!(dragged_by.is_empty());
        }
        other => panic!("{other:?}"),
    }
    match action("grandchild") {
        Action::Replace {
            reason, dragged_by, ..
        } => {
            assert_eq!(dragged_by[0].to_string(), "fake:thing.child");
            assert!(
                reason.contains("replaced with fake:thing.child"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(action("bystander"), &Action::NoOp);
    let text = plan.to_string();
    assert!(
        text.contains("# fake:thing.child must be replaced (replaced with fake:thing.parent, whose new identity it cannot take in place; destroy before create)"),
        "{text}"
    );
    assert_eq!((plan.summary.replace, plan.summary.unchanged), (3, 1));

    s.apply(&ctx, &plan).await.unwrap();
    assert_eq!(
        mutations(&cloud),
        [
            "delete grandchild",
            "delete child",
            "delete parent",
            "create parent",
            "create child",
            "create grandchild"
        ]
    );
    assert!(!s.plan(&ctx).await.unwrap().has_changes());
    assert_eq!(cloud.copies("parent"), 1);
}

#[tokio::test(start_paused = true)]
async fn the_old_engine_order_is_refused_by_the_fake_cloud() {
    // What the fake refuses, directly: deleting a parent while its child exists.
    let cloud = Arc::new(Cloud::default());
    let ctx = ctx();
    let s = chain(&cloud, Fake::new(&cloud, "parent", 1));
    s.apply(&ctx, &s.plan(&ctx).await.unwrap()).await.unwrap();
    let parent = cloud.newest("parent").unwrap();
    let fk = FakeKind::new(&cloud, KIND);
    let guard = skyforge_core::Guard::unguarded(skyforge_core::ResourceId::new(KIND, "parent"));
    let owned = skyforge_core::Owned::new("parent", parent);
    let err = skyforge_core::OwnedKind::delete(&fk, &ctx, &owned, &guard)
        .await
        .unwrap_err();
    assert_eq!(err.aws_code(), Some("DependencyViolation"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn create_before_destroy_keeps_the_old_copy_until_dependents_moved() {
    let cloud = Arc::new(Cloud::default());
    let ctx = ctx();
    let s = chain(
        &cloud,
        Fake::new(&cloud, "parent", 1).create_before_destroy(),
    );
    s.apply(&ctx, &s.plan(&ctx).await.unwrap()).await.unwrap();
    let old = cloud.newest("parent").unwrap();
    mutations(&cloud);

    let s = chain(
        &cloud,
        Fake::new(&cloud, "parent", 1)
            .create_before_destroy()
            .flavor("b"),
    );
    let plan = s.plan(&ctx).await.unwrap();
    assert!(plan.to_string().contains("create before destroy"));
    s.apply(&ctx, &plan).await.unwrap();
    // Dependents (destroy-before-create) go first, then the new parent exists before the old
    // one is deleted, once nothing uses it.
    assert_eq!(
        mutations(&cloud),
        [
            "delete grandchild",
            "delete child",
            "create parent",
            "create child",
            "create grandchild",
            "delete parent"
        ]
    );
    assert_eq!(cloud.copies("parent"), 1);
    assert_ne!(cloud.newest("parent").unwrap(), old);
    assert!(!s.plan(&ctx).await.unwrap().has_changes());
}

#[tokio::test(start_paused = true)]
async fn a_create_before_destroy_dependent_of_a_destroyed_resource_follows_its_order() {
    // The child could keep its old copy until the retire phase, but that copy lives in the
    // parent, whose old copy goes in the destroy phase: the child must go first.
    let cloud = Arc::new(Cloud::default());
    let ctx = ctx();
    let build = |flavor: &'static str| {
        let mut s = Stack::new(env());
        let p = s.add_resource(Fake::new(&cloud, "parent", 1).flavor(flavor));
        s.add_resource(
            Fake::new(&cloud, "child", 1)
                .parent(p)
                .create_before_destroy(),
        );
        s
    };
    let s = build("a");
    s.apply(&ctx, &s.plan(&ctx).await.unwrap()).await.unwrap();
    mutations(&cloud);
    let s = build("b");
    let plan = s.plan(&ctx).await.unwrap();
    for r in &plan.resources {
        assert!(
            matches!(
                r.action,
                Action::Replace {
                    order: ReplaceOrder::DestroyBeforeCreate,
                    ..
                }
            ),
            "{}: {:?}",
            r.id,
            r.action
        );
    }
    s.apply(&ctx, &plan).await.unwrap();
    assert_eq!(
        mutations(&cloud),
        [
            "delete child",
            "delete parent",
            "create parent",
            "create child"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_copy_left_by_an_interrupted_create_before_destroy_is_deleted_as_an_orphan() {
    let cloud = Arc::new(Cloud::default());
    let ctx = ctx();
    let mut s = Stack::new(env());
    s.add_resource(Fake::new(&cloud, "parent", 1).create_before_destroy());
    s.own_kind(FakeKind::new(&cloud, KIND));
    s.apply(&ctx, &s.plan(&ctx).await.unwrap()).await.unwrap();
    let old = cloud.newest("parent").unwrap();
    // The new copy was created, then the run died before retiring the old one.
    let new = cloud.insert(KIND, "parent", 1);
    let plan = s.plan(&ctx).await.unwrap();
    let orphan = plan.resources.iter().find(|r| r.orphan).unwrap();
    assert_eq!(orphan.id.logical_id, format!("parent#{old}"));
    assert_eq!(plan.summary.destroy, 1);
    s.apply(&ctx, &plan).await.unwrap();
    assert_eq!(cloud.newest("parent").unwrap(), new);
    assert_eq!(cloud.copies("parent"), 1);
}

fn prod_db(cloud: &Arc<Cloud>, flavor: &'static str, env: Environment) -> Stack {
    let mut s = Stack::new(env);
    s.add_resource(Fake::new(cloud, "db", 1).stateful().flavor(flavor));
    s
}

#[tokio::test(start_paused = true)]
async fn a_resource_holding_data_is_not_replaced_without_an_allowance() {
    let cloud = Arc::new(Cloud::default());
    let prod = Environment::new("alva", Stage::Prod);
    let ctx = ctx_for(prod.clone());
    let s = prod_db(&cloud, "a", prod.clone());
    s.apply(&ctx, &s.plan(&ctx).await.unwrap()).await.unwrap();
    mutations(&cloud);

    let s = prod_db(&cloud, "b", prod.clone());
    let plan = s.plan(&ctx).await.unwrap();
    assert!(plan.is_refused());
    let text = plan.to_string();
    assert!(
        text.starts_with("Error: fake:thing.db: holds data and stage prod is not ephemeral: refusing to replace it; allow it explicitly with --allow-destroy fake:thing.db"),
        "{text}"
    );
    let err = s.apply(&ctx, &plan).await.unwrap_err();
    assert!(matches!(err, Error::Protected { .. }), "{err}");
    assert!(err.to_string().contains("--allow-destroy fake:thing.db"));
    assert!(mutations(&cloud).is_empty(), "refused before any call");

    // A plan made with the allowance still needs the allowance at apply time.
    let allowed = PlanOptions::default().allow_destroy("fake:thing.db");
    let plan = s.plan_with(&ctx, &allowed).await.unwrap();
    assert!(!plan.is_refused());
    assert!(plan.resources[0].protected);
    let err = s.apply(&ctx, &plan).await.unwrap_err();
    assert!(matches!(err, Error::Protected { .. }), "{err}");
    assert!(mutations(&cloud).is_empty());
    let opts = ApplyOptions::default().allow_destroy("fake:thing.db");
    s.apply_with(&ctx, &plan, &opts).await.unwrap();
    assert_eq!(mutations(&cloud), ["delete db", "create db"]);

    // An ephemeral stage protects nothing.
    let eph = Environment::new("alva", Stage::Named("pr7".into())).ephemeral(true);
    let ctx = ctx_for(eph.clone());
    let s = prod_db(&cloud, "a", eph.clone());
    s.apply(&ctx, &s.plan(&ctx).await.unwrap()).await.unwrap();
    let plan = prod_db(&cloud, "b", eph.clone()).plan(&ctx).await.unwrap();
    assert!(!plan.is_refused() && !plan.resources[0].protected);
}

#[tokio::test(start_paused = true)]
async fn orphans_are_planned_for_deletion_in_reverse_order_and_deleted() {
    let cloud = Arc::new(Cloud::default());
    let ctx = ctx();
    let build = |with_extra: bool| {
        let mut s = Stack::new(env());
        let root = s.add_resource(Fake::new(&cloud, "root", 1));
        if with_extra {
            let mid = s.add_resource(Fake::new(&cloud, "mid", 1).parent(root));
            s.add_resource(Fake::new(&cloud, "leaf", 1).parent(mid).kind("fake:leaf"));
        }
        s.own_kind(FakeKind::new(&cloud, KIND));
        s.own_kind(FakeKind {
            inside: &[KIND],
            ..FakeKind::new(&cloud, "fake:leaf")
        });
        s
    };
    let s = build(true);
    s.apply(&ctx, &s.plan(&ctx).await.unwrap()).await.unwrap();
    assert!(!s.plan(&ctx).await.unwrap().has_changes());
    mutations(&cloud);

    // "mid" and "leaf" leave the spec: both are orphans, the leaf goes first (the fake cloud
    // refuses to delete mid while leaf uses it).
    let s = build(false);
    let plan = s.plan(&ctx).await.unwrap();
    let orphans: Vec<String> = plan
        .resources
        .iter()
        .filter(|r| r.orphan)
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(orphans, ["fake:leaf.leaf", "fake:thing.mid"]);
    let leaf = plan
        .resources
        .iter()
        .find(|r| r.id.kind == "fake:leaf")
        .unwrap();
    assert_eq!(leaf.depends_on[0].to_string(), "fake:thing.mid");
    assert!(
        plan.to_string().contains(
            "# fake:thing.mid will be destroyed (owned by the stack, no longer declared)"
        )
    );
    s.apply(&ctx, &plan).await.unwrap();
    assert_eq!(
        mutations(&cloud),
        ["delete orphan leaf", "delete orphan mid"]
    );
    assert!(!s.plan(&ctx).await.unwrap().has_changes());

    // A destroy plan deletes declared resources and orphans alike.
    cloud.insert(KIND, "left-behind", 1);
    let d = s.plan_destroy(&ctx).await.unwrap();
    assert_eq!(d.summary.destroy, 2, "{d}");
    s.apply(&ctx, &d).await.unwrap();
    assert!(cloud.is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_orphan_holding_data_is_refused_in_prod() {
    let cloud = Arc::new(Cloud::default());
    let prod = Environment::new("alva", Stage::Prod);
    let ctx = ctx_for(prod.clone());
    cloud.insert(KIND, "old-db", 1);
    let mut s = Stack::new(prod);
    s.own_kind(FakeKind {
        stateful: true,
        ..FakeKind::new(&cloud, KIND)
    });
    let plan = s.plan(&ctx).await.unwrap();
    assert_eq!(plan.refused[0].resource.to_string(), "fake:thing.old-db");
    assert!(s.apply(&ctx, &plan).await.is_err());
    assert_eq!(cloud.copies("old-db"), 1);
    let opts = ApplyOptions::default().allow_destroy("fake:thing.old-db");
    s.apply_with(&ctx, &plan, &opts).await.unwrap();
    assert!(cloud.is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_update_that_does_not_take_effect_is_an_error_naming_the_field() {
    let cloud = Arc::new(Cloud::default());
    let ctx = ctx();
    let mut s = Stack::new(env());
    s.add_resource(Fake::new(&cloud, "thing", 1));
    s.apply(&ctx, &s.plan(&ctx).await.unwrap()).await.unwrap();
    let mut s = Stack::new(env());
    let mut f = Fake::new(&cloud, "thing", 1);
    f.size = 5;
    f.broken_update = true;
    s.add_resource(f);
    let plan = s.plan(&ctx).await.unwrap();
    let err = s.apply(&ctx, &plan).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("fake:thing.thing: update did not converge: size is 1, wanted 5"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_saved_plan_is_refused_when_aws_changed_since() {
    let cloud = Arc::new(Cloud::default());
    let ctx = ctx();
    let mut s = Stack::new(env());
    s.add_resource(Fake::new(&cloud, "thing", 1));
    let plan = s.plan(&ctx).await.unwrap();
    let saved: skyforge_core::Plan = serde_json::from_str(&plan.to_json()).unwrap();
    // Somebody else created it in between.
    cloud.insert(KIND, "thing", 1);
    let err = s.apply(&ctx, &saved).await.unwrap_err();
    assert!(matches!(err, Error::StaleObservation { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("fake:thing.thing was planned as create but is now no change"),
        "{err}"
    );
    assert!(mutations(&cloud).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_handle_of_another_stack_or_a_context_of_another_environment_is_refused() {
    let cloud = Arc::new(Cloud::default());
    let mut a = Stack::new(env());
    let a_node = a.add_resource(Fake::new(&cloud, "in-a", 1));
    let mut b = Stack::new(env());
    b.add_resource(Fake::new(&cloud, "first-of-b", 1));
    // The same index exists in b: only the stack id tells the handle is a's.
    b.add_resource(Fake::new(&cloud, "uses-a", 1).parent(a_node));
    let err = b.validate().unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid fake:thing.uses-a.dependencies = \"node #0 of another stack\""),
        "{err}"
    );
    assert!(matches!(
        b.plan(&ctx()).await,
        Err(Error::Validation { .. })
    ));

    let prod = Environment::new("alva", Stage::Prod);
    let err = a.plan(&ctx_for(prod.clone())).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("invalid context.environment = \"alva-prod\""),
        "{err}"
    );
    assert!(cloud.mutations.lock().unwrap().is_empty());
    let from_ctx = Stack::for_context(&ctx_for(prod));
    assert_eq!(from_ctx.env().prefix(), "alva-prod");
}

/// A lister whose plan-time answer comes from a lagging source (the tag index): while planning
/// it also reports `ghost`, a resource whose ownership tags were taken off a moment ago.
struct Lagging {
    inner: FakeKind,
    lags: bool,
}

#[async_trait::async_trait]
impl skyforge_core::OwnedKind for Lagging {
    fn kind(&self) -> &'static str {
        self.inner.kind
    }
    fn service(&self) -> &'static str {
        "fake"
    }
    fn listing_may_lag(&self) -> bool {
        self.lags
    }
    async fn list(&self, ctx: &skyforge_core::Context) -> skyforge_core::Result<Vec<Owned>> {
        let mut found = self.inner.list(ctx).await?;
        if ctx.planning() {
            found.push(Owned::new("ghost", "p-ghost"));
        }
        Ok(found)
    }
    async fn delete(
        &self,
        ctx: &skyforge_core::Context,
        owned: &Owned,
        guard: &skyforge_core::Guard,
    ) -> skyforge_core::Result<()> {
        self.inner.delete(ctx, owned, guard).await
    }
}

fn orphans(plan: &skyforge_core::Plan) -> Vec<String> {
    let orphans = plan.resources.iter().filter(|r| r.orphan);
    let mut ids: Vec<String> = orphans.map(|r| r.id.logical_id.clone()).collect();
    ids.sort();
    ids
}

#[tokio::test(start_paused = true)]
async fn an_orphan_only_a_lagging_listing_shows_is_confirmed_away() {
    let cloud = Arc::new(Cloud::default());
    let ctx = ctx();
    let stack = |names: &[&'static str], lags| {
        let mut s = Stack::new(env());
        for n in names {
            s.add_resource(Fake::new(&cloud, n, 1));
        }
        let inner = FakeKind::new(&cloud, KIND);
        s.own_kind(Lagging { inner, lags });
        s
    };
    let s = stack(&["kept", "gone"], true);
    s.apply(&ctx, &s.plan(&ctx).await.unwrap()).await.unwrap();
    // "gone" is no longer declared: a real orphan, which the second listing finds too.
    let plan = stack(&["kept"], true).plan(&ctx).await.unwrap();
    assert_eq!(orphans(&plan), ["gone"]);
    // A listing that does not lag is trusted as it is.
    let plan = stack(&["kept"], false).plan(&ctx).await.unwrap();
    assert_eq!(orphans(&plan), ["ghost", "gone"]);
}
