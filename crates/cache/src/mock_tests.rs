//! Subnet group deletion while ElastiCache still counts a deleted cluster in it.

use aws_sdk_elasticache::Client;
use aws_sdk_elasticache::operation::delete_cache_subnet_group::{
    DeleteCacheSubnetGroupError, DeleteCacheSubnetGroupOutput,
};
use skyforge_core::testing::{aws_error, mock, offline_context};
use skyforge_core::{Environment, Guard, ResourceId, Stage, mocked_client};

#[tokio::test]
async fn a_cache_subnet_group_still_in_use_is_retried_until_released() {
    let delete = mock!(Client::delete_cache_subnet_group)
        .sequence()
        .error(|| {
            DeleteCacheSubnetGroupError::generic(aws_error(
                "CacheSubnetGroupInUse",
                "Cache subnet group mock-staging-cache is currently in use by a cache cluster.",
            ))
        })
        .times(2)
        .output(|| DeleteCacheSubnetGroupOutput::builder().build())
        .build();
    let ctx = offline_context(Environment::new("mock", Stage::Staging)).await;
    let elasticache = mocked_client!(aws_sdk_elasticache, &ctx, [&delete]);
    let ctx = ctx.with_client(elasticache);
    let guard = Guard::unguarded(ResourceId::new("cache_subnet_group", "cache"));
    crate::subnet_group::delete(&ctx, &guard, "mock-staging-cache")
        .await
        .expect("deleted once the cluster is gone");
    assert_eq!(delete.num_calls(), 3);
}
