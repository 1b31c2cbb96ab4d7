//! Adding a bucket to a stack, and what its handle gives other crates.

use skyforge_core::{Component, NodeId, Ref, Stack};
use skyforge_iam::Statement;

use crate::bucket::BucketNode;
use crate::policy::{Access, statements};
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
    /// bucket's ARN and `bucket/*`), for a [`skyforge_iam::Role`]'s policy or a compute task
    /// role's grants; the role depends on the bucket.
    pub fn grant(&self, access: Access) -> Vec<Statement> {
        let arn = self.arn();
        statements(access, |s| s.on(arn), |s| s.under(arn, "/*"))
    }
    /// [`BucketHandle::grant`] with [`Access::Read`]: list the bucket, read objects.
    pub fn grant_read(&self) -> Vec<Statement> {
        self.grant(Access::Read)
    }
    /// [`BucketHandle::grant`] with [`Access::Write`]: put and delete objects.
    pub fn grant_write(&self) -> Vec<Statement> {
        self.grant(Access::Write)
    }
    /// [`BucketHandle::grant`] with [`Access::ReadWrite`].
    pub fn grant_read_write(&self) -> Vec<Statement> {
        self.grant(Access::ReadWrite)
    }
}

impl Component for Bucket {
    type Handle = BucketHandle;
    fn add_to(self, stack: &mut Stack) -> BucketHandle {
        crate::owned::register_kinds(stack);
        let account = skyforge_iam::current_account(stack);
        let node = stack.add_resource(BucketNode {
            spec: self.spec,
            account,
        });
        BucketHandle { node }
    }
}
