//! What the load-balancing nodes share: the client, tags (DescribeTags / AddTags / RemoveTags,
//! by ARN), actions, and the `need` helper for inputs at apply time.

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, RedirectActionConfig,
    RedirectActionStatusCodeEnum, Tag,
};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{Context, Error, Guard, Input, Inputs, Observed, ResourceId, Result};

pub(crate) fn client(ctx: &Context) -> Client {
    ctx.client(Client::new)
}

pub(crate) fn build_err(rid: &ResourceId, e: impl std::fmt::Display) -> Error {
    Error::Resource {
        resource: rid.to_string(),
        message: format!("request could not be built: {e}"),
    }
}

pub(crate) fn need(i: &Input<String>, inputs: &Inputs, rid: &ResourceId) -> Result<String> {
    match i {
        Input::Value(v) => Ok(v.clone()),
        Input::Ref(r) => inputs.require(r, rid),
    }
}

pub(crate) fn elb_tags(t: &Tags) -> Vec<Tag> {
    t.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The tags of each of `arns` (DescribeTags takes 20 at a time). While planning, each answer is
/// kept for the rest of the plan: a node's observation after the orphan listing (which asks for
/// every resource of the kind at once) reads nothing, and one alone reads only its own. The
/// same list asked again (each rule of a listener) is read once.
pub(crate) async fn tags_of(
    ctx: &Context,
    rid: &ResourceId,
    arns: &[String],
) -> Result<Vec<(String, Tags)>> {
    if let [arn] = arns {
        let read = || async { Ok(describe_tags(ctx, rid, arns).await?.pop().map(|(_, t)| t)) };
        let t = tags::read_once(ctx, arn, read).await?;
        return Ok(t.map(|t| (arn.clone(), t)).into_iter().collect());
    }
    // The rules of one listener are each observed with the same listing: one read for all.
    let key = format!("elbv2:DescribeTags:{}", arns.join(","));
    let out = ctx.memo(&key, || describe_tags(ctx, rid, arns)).await?;
    for (arn, t) in out.iter() {
        tags::read_once(ctx, arn, || async { Ok(Some(t.clone())) }).await?;
    }
    Ok(out.as_ref().clone())
}

async fn describe_tags(
    ctx: &Context,
    rid: &ResourceId,
    arns: &[String],
) -> Result<Vec<(String, Tags)>> {
    let mut out = Vec::new();
    for chunk in arns.chunks(20) {
        let d = client(ctx)
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| Error::aws(rid, "DescribeTags", e))?;
        for td in d.tag_descriptions() {
            let t: Tags = td
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
                .collect();
            out.push((td.resource_arn().unwrap_or_default().to_string(), t));
        }
    }
    Ok(out)
}

/// Bring the tags of `arn` to `desired`, from the observed `tags` field.
pub(crate) async fn sync_tags(
    ctx: &Context,
    guard: &Guard,
    arn: &str,
    desired: &Tags,
    observed: &Observed,
) -> Result<()> {
    let current: Tags = tags::from_field(observed.fields.get("tags"));
    let d = tags::diff_tags(desired, &current);
    let elb = client(ctx);
    if !d.set.is_empty() {
        let req = elb
            .add_tags()
            .resource_arns(arn)
            .set_tags(Some(elb_tags(&d.set)));
        guard.send("AddTags", &[], req.send()).await?;
    }
    if !d.remove.is_empty() {
        let req = elb
            .remove_tags()
            .resource_arns(arn)
            .set_tag_keys(Some(d.remove.clone()));
        guard.send("RemoveTags", &[], req.send()).await?;
    }
    Ok(())
}

/// A listener's or rule's action, as the plan shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Act {
    Forward(Input<String>),
    RedirectHttps,
    NotFound,
}

impl Act {
    pub(crate) fn plan_value(&self, inputs: &Inputs) -> skyforge_core::Value {
        match self {
            Act::Forward(tg) => match tg.resolve(inputs) {
                Some(arn) => skyforge_core::Value::str(format!("forward:{arn}")),
                None => skyforge_core::Value::Unknown,
            },
            Act::RedirectHttps => skyforge_core::Value::str("redirect:https:443:301"),
            Act::NotFound => skyforge_core::Value::str("fixed:404"),
        }
    }

    pub(crate) fn build(&self, inputs: &Inputs, rid: &ResourceId) -> Result<Action> {
        let b = Action::builder();
        let b = match self {
            Act::Forward(tg) => b
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(need(tg, inputs, rid)?),
            Act::RedirectHttps => b.r#type(ActionTypeEnum::Redirect).redirect_config(
                RedirectActionConfig::builder()
                    .protocol("HTTPS")
                    .port("443")
                    .status_code(RedirectActionStatusCodeEnum::Http301)
                    .build(),
            ),
            Act::NotFound => b
                .r#type(ActionTypeEnum::FixedResponse)
                .fixed_response_config(
                    FixedResponseActionConfig::builder()
                        .status_code("404")
                        .content_type("text/plain")
                        .message_body("not found")
                        .build(),
                ),
        };
        Ok(b.build())
    }
}

/// An observed action as [`Act::plan_value`] shows it.
pub(crate) fn observed_action(actions: &[Action]) -> skyforge_core::Value {
    let Some(a) = actions.first() else {
        return skyforge_core::Value::Known(serde_json::Value::Null);
    };
    let s = match a.r#type().map(|t| t.as_str()) {
        Some("forward") => format!(
            "forward:{}",
            a.target_group_arn()
                .or_else(|| a
                    .forward_config()
                    .and_then(|f| f.target_groups().first())
                    .and_then(|t| t.target_group_arn()))
                .unwrap_or_default()
        ),
        Some("redirect") => {
            let r = a.redirect_config();
            format!(
                "redirect:{}:{}:{}",
                r.and_then(|r| r.protocol())
                    .unwrap_or_default()
                    .to_ascii_lowercase(),
                r.and_then(|r| r.port()).unwrap_or_default(),
                r.and_then(|r| r.status_code())
                    .map(|c| c.as_str().trim_start_matches("HTTP_").to_string())
                    .unwrap_or_default()
            )
        }
        Some("fixed-response") => format!(
            "fixed:{}",
            a.fixed_response_config()
                .and_then(|f| f.status_code())
                .unwrap_or_default()
        ),
        other => other.unwrap_or("none").to_string(),
    };
    skyforge_core::Value::str(s)
}
