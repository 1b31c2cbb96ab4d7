//! Adding a bucket to a stack, and what its handle gives other crates.

use skyforge_core::{Component, Inputs, NodeId, Ref, ResourceId, Stack};

use crate::account::{AccountNode, KIND_ACCOUNT};
use crate::bucket::BucketNode;
use crate::policy::{Access, grant_statements};
use crate::spec::Bucket;

/// A bucket in a stack.
#[derive(Debug, Clone)]
pub struct BucketHandle {
    node: NodeId,
}

impl BucketHandle {
    /// The bucket node.
    pub fn node(&self) -> NodeId {
        self.node
    }
    /// The bucket's name.
    pub fn name(&self) -> Ref<String> {
        Ref::new(self.node, "name")
    }
    /// The bucket's ARN.
    pub fn arn(&self) -> Ref<String> {
        Ref::new(self.node, "arn")
    }
    /// The IAM statements a role needs for `access` to this bucket (the exact actions on the
    /// bucket and `bucket/*` ARNs); `None` while the bucket is not created. The compute crate's
    /// task roles take them.
    pub fn grant(&self, access: Access, inputs: &Inputs) -> Option<serde_json::Value> {
        let name: String = inputs.get(&self.name())?;
        Some(grant_statements(&name, access))
    }
}

impl Component for Bucket {
    type Handle = BucketHandle;
    fn add_to(self, stack: &mut Stack) -> BucketHandle {
        crate::owned::register_kinds(stack);
        let account = stack
            .find(&ResourceId::new(KIND_ACCOUNT, "current"))
            .unwrap_or_else(|| stack.add_resource(AccountNode));
        let node = stack.add_resource(BucketNode {
            spec: self.spec,
            account: Ref::new(account, "account_id"),
        });
        BucketHandle { node }
    }
}
