//! Locked, journaled runs: what `Stack::apply` becomes with a state backend.

use std::sync::Arc;

use async_trait::async_trait;
use std::collections::BTreeSet;

use skyforge_core::{
    ApplyOptions, ApplyReport, Context, Plan, PlanMode, PlanOptions, ResourceId, RunHooks, Stack,
    Warning,
};

use crate::document::{JournalEntry, JournalStatus, ResourceRecord, StateDocument};
use crate::error::{Error, Result};
use crate::lock::{Clock, HeldLock, Locker, SystemClock};
use crate::store::StateStore;

/// A state store and a locker: everything a guarded run needs.
#[derive(Clone)]
pub struct Backend {
    /// Where the state lives.
    pub store: Arc<dyn StateStore>,
    /// Who guards it.
    pub locker: Locker,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("store", &self.store.describe())
            .field("locker", &self.locker)
            .finish()
    }
}

/// The run hooks: check the lock, then journal the intent, before every mutating call; journal
/// the outcome after it.
struct Journal {
    lock: HeldLock,
    store: Arc<dyn StateStore>,
    doc: tokio::sync::Mutex<StateDocument>,
    run_id: String,
    clock: SystemClock,
    seq: std::sync::atomic::AtomicU64,
}

fn guard_error(resource: &ResourceId, operation: &str, e: Error) -> skyforge_core::Error {
    skyforge_core::Error::Guard {
        resource: resource.clone(),
        operation: operation.to_string(),
        reason: e.to_string(),
    }
}

#[async_trait]
impl RunHooks for Journal {
    async fn before_mutation(
        &self,
        resource: &ResourceId,
        operation: &str,
    ) -> skyforge_core::Result<()> {
        self.lock
            .check()
            .map_err(|e| guard_error(resource, operation, e))?;
        let mut doc = self.doc.lock().await;
        let seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        doc.journal.push(JournalEntry {
            run_id: self.run_id.clone(),
            seq,
            resource: resource.to_string(),
            operation: operation.to_string(),
            status: JournalStatus::Intent,
            at_ms: self.clock.now_ms(),
        });
        doc.serial += 1;
        self.store
            .save(&doc)
            .await
            .map_err(|e| guard_error(resource, operation, e))
    }
    async fn after_mutation(
        &self,
        resource: &ResourceId,
        operation: &str,
        succeeded: bool,
    ) -> skyforge_core::Result<()> {
        let mut doc = self.doc.lock().await;
        let key = resource.to_string();
        let seq = doc
            .journal
            .iter()
            .rev()
            .find(|e| {
                e.run_id == self.run_id
                    && e.resource == key
                    && e.operation == operation
                    && e.status == JournalStatus::Intent
            })
            .map(|e| e.seq)
            .unwrap_or_default();
        doc.journal.push(JournalEntry {
            run_id: self.run_id.clone(),
            seq,
            resource: key,
            operation: operation.to_string(),
            status: if succeeded {
                JournalStatus::Done
            } else {
                JournalStatus::Failed
            },
            at_ms: self.clock.now_ms(),
        });
        doc.serial += 1;
        self.store
            .save(&doc)
            .await
            .map_err(|e| guard_error(resource, operation, e))
    }
}

/// Plan with the state's knowledge: calls an earlier run started and never finished become
/// warnings (the resource may half-exist; observation shows what is there), and so do resources
/// the state recorded that neither the spec nor the orphan listing accounts for.
pub async fn plan(stack: &Stack, ctx: &Context, backend: &Backend) -> Result<Plan> {
    plan_with(
        stack,
        ctx,
        backend,
        PlanMode::Apply,
        &PlanOptions::default(),
    )
    .await
}

/// [`plan`] for `mode` (apply or destroy) with plan options (resources allowed to be destroyed).
pub async fn plan_with(
    stack: &Stack,
    ctx: &Context,
    backend: &Backend,
    mode: PlanMode,
    options: &PlanOptions,
) -> Result<Plan> {
    let mut plan = match mode {
        PlanMode::Apply => stack.plan_with(ctx, options).await?,
        PlanMode::Destroy => stack.plan_destroy_with(ctx, options).await?,
    };
    if let Some(doc) = backend.store.load().await? {
        if stack.only_actions() {
            // A run of actions alone declares none of the recorded resources: only the
            // unfinished calls are worth a warning.
            let mut recorded = doc.clone();
            recorded.resources.clear();
            annotate(&mut plan, &recorded);
        } else {
            annotate(&mut plan, &doc);
        }
    }
    Ok(plan)
}

/// Add the unfinished calls of `doc`, the resources it records that the plan does not list
/// (not declared, not found by the orphan listing), and those it records that the plan creates
/// (observation did not find them), to `plan`'s warnings.
pub fn annotate(plan: &mut Plan, doc: &StateDocument) {
    for (id, record) in &doc.resources {
        let planned = plan.resources.iter().find(|r| &r.id.to_string() == id);
        if let Some(r) = planned {
            if let (skyforge_core::Action::Create { .. }, Some(p)) =
                (&r.action, &record.physical_id)
            {
                plan.warnings.push(Warning {
                    resource: Some(r.id.clone()),
                    message: format!(
                        "the state records {id} ({p}) from an earlier apply, but observation did not find it: it is planned again (deleted outside skyforge, or this run points at another account, region or endpoint)"
                    ),
                });
            }
            continue;
        }
        plan.warnings.push(Warning {
            resource: None,
            message: format!(
                "the state records {id}{} from an earlier apply, but the spec no longer declares it and no listing found it (its kind may not be registered with the stack, or it lost its ownership tags): it is not deleted; check it by hand",
                record
                    .physical_id
                    .as_deref()
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default()
            ),
        });
    }
    for e in doc.unfinished() {
        plan.warnings.push(Warning {
            resource: None,
            message: format!(
                "an earlier run stopped during {} of {} (run {}): it may half-exist; this plan is based on what observation found",
                e.operation, e.resource, e.run_id
            ),
        });
    }
}

/// Apply `plan` under the lock: refused at once if another run holds it; every mutating call
/// journaled; the lock released on success and on error (not on a crash: its lease expires).
/// On success the state records each resource's outputs and spec digest and the stack outputs,
/// and the journal of clean runs is cleared.
pub async fn apply(
    stack: &Stack,
    ctx: &Context,
    plan: &Plan,
    backend: &Backend,
) -> Result<ApplyReport> {
    apply_with(stack, ctx, plan, backend, &BTreeSet::new()).await
}

/// [`apply`], allowing the deletion or replacement of the protected resources in
/// `allow_destroy` (`secret.db-password`).
pub async fn apply_with(
    stack: &Stack,
    ctx: &Context,
    plan: &Plan,
    backend: &Backend,
    allow_destroy: &BTreeSet<String>,
) -> Result<ApplyReport> {
    let operation = match plan.mode {
        PlanMode::Apply => "apply",
        PlanMode::Destroy => "destroy",
    };
    let lock = backend.locker.acquire(&stack.name(), operation).await?;
    apply_holding(stack, ctx, plan, backend, allow_destroy, lock).await
}

/// The body of [`apply_with`] once `lock` is held: journal every mutating call, record the
/// outcome, release the lock (on success and on error).
pub(crate) async fn apply_holding(
    stack: &Stack,
    ctx: &Context,
    plan: &Plan,
    backend: &Backend,
    allow_destroy: &BTreeSet<String>,
    lock: HeldLock,
) -> Result<ApplyReport> {
    let loaded = match backend.store.load().await {
        Ok(d) => d,
        Err(e) => {
            lock.release().await?;
            return Err(e);
        }
    };
    let doc = loaded.unwrap_or_else(|| StateDocument::new(stack.name()));
    let journal = Arc::new(Journal {
        lock,
        store: backend.store.clone(),
        doc: tokio::sync::Mutex::new(doc),
        run_id: uuid::Uuid::new_v4().to_string(),
        clock: SystemClock,
        seq: std::sync::atomic::AtomicU64::new(0),
    });
    let options = ApplyOptions {
        allow_destroy: allow_destroy.clone(),
        hooks: journal.clone(),
    };
    let result = stack.apply_with(ctx, plan, &options).await;
    // The hooks' last reference outside `journal`: the lock is released through `journal`.
    drop(options);
    let mut doc = journal.doc.lock().await.clone();
    // A run of actions alone (a rollback) keeps the stack's record of its resources.
    if let Ok(report) = &result
        && !stack.only_actions()
    {
        let digests = stack.resource_digests();
        doc.resources.clear();
        if plan.mode == PlanMode::Apply {
            for (id, outputs) in &report.resources {
                doc.resources.insert(
                    id.clone(),
                    ResourceRecord {
                        physical_id: report.physical_ids.get(id).cloned(),
                        outputs: outputs.clone(),
                        spec_digest: digests.get(id).cloned().unwrap_or_default(),
                    },
                );
            }
            doc.outputs = report.outputs.clone();
        } else {
            doc.outputs.clear();
        }
        // Nothing of this or earlier runs is left half-done: the plan observed everything.
        doc.journal.clear();
    }
    doc.serial += 1;
    let saved = backend.store.save(&doc).await;
    let journal = Arc::try_unwrap(journal).map_err(|_| Error::LockLost {
        stack: stack.name(),
        reason: "run hooks still in use after the run".into(),
    })?;
    journal.lock.release().await?;
    saved?;
    Ok(result?)
}
