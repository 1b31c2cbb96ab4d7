//! ECS tag sync (clusters, services, task definitions share TagResource / UntagResource).

use skyforge_core::tags::{self, Tags};
use skyforge_core::{Context, Guard, Observed, Result};

use crate::cluster::{client, ecs_tags};

/// Set the desired tags on `arn` and remove `skyforge:` keys no longer desired.
pub(crate) async fn sync(
    ctx: &Context,
    guard: &Guard,
    arn: &str,
    desired: &Tags,
    observed: &Observed,
) -> Result<()> {
    let current = tags::from_field(observed.fields.get("tags"));
    let d = tags::diff_tags(desired, &current);
    let ecs = client(ctx);
    if !d.set.is_empty() {
        guard
            .send(
                "TagResource",
                &[],
                ecs.tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(ecs_tags(d.set.clone())))
                    .send(),
            )
            .await?;
    }
    if !d.remove.is_empty() {
        guard
            .send(
                "UntagResource",
                &[],
                ecs.untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(d.remove.clone()))
                    .send(),
            )
            .await?;
    }
    Ok(())
}
