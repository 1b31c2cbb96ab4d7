//! The bucket's diff: drift is put back, and a policy opened to the public by hand is named as
//! a security downgrade that this apply reverts.

use skyforge_core::resource::diff_fields;
use skyforge_core::{Action, Fields, Observed, Value};

use crate::policy::allows_public;

pub(crate) fn diff(desired: &Fields, observed: &Observed) -> Action {
    let mut action = diff_fields(desired, observed);
    if let Action::Update { diffs } | Action::Replace { diffs, .. } = &mut action {
        for d in diffs.iter_mut() {
            let public = d
                .old
                .as_ref()
                .and_then(Value::known)
                .is_some_and(allows_public);
            if d.field == "policy" && public {
                d.note = Some(
                    "now: the policy found allows public access (a security downgrade made outside skyforge)".into(),
                );
            }
            if d.field == "public_access_block" {
                d.note = Some("now: public access was unblocked outside skyforge".into());
            }
        }
    }
    action
}
