//! Tags of ElastiCache resources, by ARN.

use skyforge_core::tags::{self, Tags};
use skyforge_core::{Context, Guard, Observed, Result};

use crate::group::{client, ec_tags};

/// Bring the tags of `arn` to `desired`, from the observed `tags` field.
pub(crate) async fn sync(
    ctx: &Context,
    guard: &Guard,
    arn: &str,
    desired: &Tags,
    observed: &Observed,
) -> Result<()> {
    let current: Tags = tags::from_field(observed.fields.get("tags"));
    let d = tags::diff_tags(desired, &current);
    let ec = client(ctx);
    if !d.set.is_empty() {
        guard
            .send(
                "AddTagsToResource",
                &[],
                ec.add_tags_to_resource()
                    .resource_name(arn)
                    .set_tags(Some(ec_tags(&d.set)))
                    .send(),
            )
            .await?;
    }
    if !d.remove.is_empty() {
        guard
            .send(
                "RemoveTagsFromResource",
                &[],
                ec.remove_tags_from_resource()
                    .resource_name(arn)
                    .set_tag_keys(Some(d.remove.clone()))
                    .send(),
            )
            .await?;
    }
    Ok(())
}
