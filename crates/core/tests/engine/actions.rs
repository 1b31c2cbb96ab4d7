//! Actions on the fake cloud: a migration that runs when the image tag changes, before the app
//! that depends on it, journaled like a mutation, and whose failure stops its dependents.

use std::sync::Arc;

use async_trait::async_trait;
use skyforge_core::{
    Action, ActionNode, Context, Environment, Error, Guard, Inputs, NodeId, Outputs, ResourceId,
    Result, Stack, Value,
};

use crate::fake::{Cloud, Fake, RecordingHooks, ctx, env};

struct Migration {
    tag: &'static str,
    after: NodeId,
    exit_code: i32,
    cloud: Arc<Cloud>,
}

#[async_trait]
impl ActionNode for Migration {
    fn id(&self) -> ResourceId {
        ResourceId::new("migration", "schema")
    }
    fn service(&self) -> &'static str {
        "ecs"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        vec![self.after]
    }
    fn trigger(&self, _: &Environment, _: &Inputs) -> Value {
        Value::str(format!("image:{}", self.tag))
    }
    async fn last_trigger(&self, _: &Context, _: &Inputs) -> Result<Option<String>> {
        Ok(self.cloud.triggers.lock().unwrap().get("schema").cloned())
    }
    async fn run(&self, _: &Context, _: &Inputs, trigger: &str, guard: &Guard) -> Result<Outputs> {
        guard
            .call("RunTask", async {
                self.cloud
                    .mutations
                    .lock()
                    .unwrap()
                    .push(format!("run migration {}", self.tag));
                if self.exit_code != 0 {
                    return Err(Error::TerminalState {
                        resource: "migration.schema".into(),
                        state: "STOPPED".into(),
                        reason: format!("exit code {}", self.exit_code),
                    });
                }
                Ok(())
            })
            .await?;
        self.cloud
            .triggers
            .lock()
            .unwrap()
            .insert("schema".into(), trigger.into());
        Ok(Outputs::new())
    }
}

fn stack(cloud: &Arc<Cloud>, tag: &'static str, exit_code: i32, app_size: u32) -> Stack {
    let mut s = Stack::new(env());
    let db = s.add_resource(Fake::new(cloud, "db", 1));
    let migrate = s.add_action(Migration {
        tag,
        after: db,
        exit_code,
        cloud: cloud.clone(),
    });
    let mut app = Fake::new(cloud, "app", 1).after(&[migrate]);
    app.size = app_size;
    s.add_resource(app);
    s
}

fn mutations(cloud: &Cloud) -> Vec<String> {
    std::mem::take(&mut *cloud.mutations.lock().unwrap())
}

#[tokio::test(start_paused = true)]
async fn an_action_runs_when_its_trigger_changes_and_its_failure_stops_dependents() {
    let cloud = Arc::new(Cloud::default());
    let ctx = ctx();
    let s = stack(&cloud, "v1", 0, 1);
    let plan = s.plan(&ctx).await.unwrap();
    let text = plan.to_string();
    assert!(
        text.contains("  # migration.schema will run (its trigger changed)\n  > resource \"migration\" \"schema\""),
        "{text}"
    );
    assert!(text.contains("+ trigger = \"image:v1\""), "{text}");
    assert!(text.ends_with("2 to add, 0 to change, 0 to replace, 0 to destroy, 1 to run."));
    let hooks = Arc::new(RecordingHooks::default());
    s.apply_with_hooks(&ctx, &plan, hooks.clone())
        .await
        .unwrap();
    assert_eq!(
        mutations(&cloud),
        ["create db", "run migration v1", "create app"]
    );
    // Journaled like a mutation.
    assert!(
        hooks
            .calls
            .lock()
            .unwrap()
            .contains(&"begin RunTask schema".to_string())
    );

    // Same trigger: nothing to do, nothing runs.
    let plan = s.plan(&ctx).await.unwrap();
    assert!(!plan.has_changes(), "{plan}");
    s.apply(&ctx, &plan).await.unwrap();
    assert!(mutations(&cloud).is_empty());

    // A new image: the migration runs again, with the trigger change shown.
    let s = stack(&cloud, "v2", 0, 1);
    let plan = s.plan(&ctx).await.unwrap();
    match &plan
        .get(&ResourceId::new("migration", "schema"))
        .unwrap()
        .action
    {
        Action::Run { trigger } => {
            assert_eq!(trigger.old.as_ref().unwrap().to_string(), "\"image:v1\"");
            assert_eq!(trigger.new.as_ref().unwrap().to_string(), "\"image:v2\"");
        }
        other => panic!("{other:?}"),
    }
    s.apply(&ctx, &plan).await.unwrap();
    assert_eq!(mutations(&cloud), ["run migration v2"]);

    // A failing migration stops the app's update; the next plan runs it again.
    let s = stack(&cloud, "v3", 1, 5);
    let plan = s.plan(&ctx).await.unwrap();
    let err = s.apply(&ctx, &plan).await.unwrap_err();
    assert!(
        err.to_string().contains(
            "migration.schema (run): migration.schema: reached terminal state STOPPED: exit code 1"
        ),
        "{err}"
    );
    assert_eq!(
        mutations(&cloud),
        ["run migration v3"],
        "the app was not updated"
    );
    let again = s.plan(&ctx).await.unwrap();
    assert_eq!(again.summary.run, 1);
    assert_eq!(again.summary.change, 1);

    // Destroy never runs an action.
    let d = stack(&cloud, "v3", 0, 5).plan_destroy(&ctx).await.unwrap();
    assert_eq!(d.summary.run, 0);
    assert_eq!(d.summary.destroy, 2);
}
