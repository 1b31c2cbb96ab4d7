"""The secure-defaults audit: a second client (boto3, none of skyforge's code) that reads a deployed
stack back by its ownership tag and lists what breaks skyforge's secure defaults.

    python -m skyforge_localstack.audit STACK --stage STAGE [--state-bucket B] [--destroyed]

Prints one JSON document: {"findings": [...], "checked": {what: count}}. With --destroyed it
checks what a destroy of a prod stack must leave: the final snapshots of its databases and caches.
The endpoint and credentials come from the environment (AWS_ENDPOINT_URL, ...).
"""

import argparse
import json
import os
import re
import sys
from collections import Counter

import boto3

STACK_TAG = "skyforge:stack"
# The only actions a role may be granted on every resource: AWS has nothing narrower for them
# (docs/iam.md: ECR_TOKEN_REASON, EXEC_CHANNELS_REASON).
ANY_RESOURCE_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
}
OPEN = {"0.0.0.0/0", "::/0"}
CREDENTIALS_IN_URL = re.compile(r"://[^/:@\s]+:[^@\s]+@")
CREDENTIAL_KEY = re.compile(r"password|secret|token|key|url", re.IGNORECASE)


# What a tag read answers for a resource deleted since its listing.
_GONE = {
    "NoSuchEntity",
    "RepositoryNotFoundException",
    "NotFound",
    "ResourceNotFound",
    "ReplicationGroupNotFoundFault",
    "LoadBalancerNotFound",
}


def _unless_gone(read):
    """What `read` returns, or None when the resource was deleted after the listing: by another
    stack, since these listings cover the account and region the tests beside this one share."""
    from botocore.exceptions import ClientError

    try:
        return read()
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in _GONE:
            return None
        raise


class Audit:
    def __init__(self, stack, stage, region):
        self.stack = stack
        self.prod = stage == "prod"
        self.findings = []
        self.checked = Counter()
        session = boto3.session.Session(region_name=region)
        self.client = session.client

    def find(self, what, detail):
        self.findings.append(f"{what}: {detail}")

    def tagged(self, tags, key="Key", value="Value"):
        return any(t.get(key) == STACK_TAG and t.get(value) == self.stack for t in tags or [])

    # --- network -------------------------------------------------------------------------------

    def network(self):
        ec2 = self.client("ec2")
        flt = [{"Name": f"tag:{STACK_TAG}", "Values": [self.stack]}]
        vpcs = [v["VpcId"] for v in ec2.describe_vpcs(Filters=flt)["Vpcs"]]
        self.public_subnets = set()
        if vpcs:
            tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": vpcs}])["RouteTables"]
            for t in tables:
                to_igw = any(
                    r.get("DestinationCidrBlock") == "0.0.0.0/0" and r.get("GatewayId", "").startswith("igw-")
                    for r in t.get("Routes", [])
                )
                if to_igw:
                    self.public_subnets |= {a["SubnetId"] for a in t.get("Associations", []) if a.get("SubnetId")}
        self.groups = {g["GroupId"]: g for g in ec2.describe_security_groups(Filters=flt)["SecurityGroups"]}
        self.checked["vpcs"] += len(vpcs)

    def open_ingress(self, listener_ports, alb_groups):
        for gid, g in self.groups.items():
            self.checked["security groups"] += 1
            for p in g.get("IpPermissions", []):
                cidrs = {r.get("CidrIp") for r in p.get("IpRanges", [])}
                cidrs |= {r.get("CidrIpv6") for r in p.get("Ipv6Ranges", [])}
                if not cidrs & OPEN:
                    continue
                ports = set(range(p.get("FromPort", 0), p.get("ToPort", 65535) + 1)) if "FromPort" in p else None
                if gid in alb_groups and ports is not None and ports <= listener_ports:
                    continue
                self.find(
                    "security group",
                    f"{g['GroupName']} ({gid}) open to the internet on {p.get('IpProtocol')} "
                    f"{p.get('FromPort', 'all')}-{p.get('ToPort', 'all')}, not a listener port of its load balancer",
                )

    def only_from(self, what, group_ids, app_groups):
        """Every ingress rule of `group_ids` names one of the app's groups, never an address range."""
        for gid in group_ids:
            g = self.groups.get(gid)
            if g is None:
                self.find(what, f"security group {gid} does not carry the stack's tags")
                continue
            for p in g.get("IpPermissions", []):
                if p.get("IpRanges") or p.get("Ipv6Ranges") or p.get("PrefixListIds"):
                    self.find(what, f"{g['GroupName']} admits address ranges on port {p.get('FromPort')}")
                for pair in p.get("UserIdGroupPairs", []):
                    if pair.get("GroupId") not in app_groups:
                        self.find(what, f"{g['GroupName']} admits {pair.get('GroupId')}, not a group of the app")

    def private(self, what, subnets):
        public = sorted(set(subnets) & self.public_subnets)
        if public:
            self.find(what, f"placed in public subnets {public}")

    # --- compute -------------------------------------------------------------------------------

    def services(self):
        ecs = self.client("ecs")
        self.app_groups, self.task_definitions = set(), set()
        for arn in ecs.list_clusters()["clusterArns"]:
            tags = ecs.list_tags_for_resource(resourceArn=arn).get("tags", [])
            if not self.tagged(tags, "key", "value"):
                continue
            services = ecs.list_services(cluster=arn)["serviceArns"]
            for i in range(0, len(services), 10):
                for s in ecs.describe_services(cluster=arn, services=services[i : i + 10])["services"]:
                    if s.get("status") != "ACTIVE":
                        continue
                    vpc = s.get("networkConfiguration", {}).get("awsvpcConfiguration", {})
                    self.app_groups |= set(vpc.get("securityGroups", []))
                    self.task_definitions.add(s["taskDefinition"])
                    self.checked["ecs services"] += 1

    def secret_values(self):
        sm = self.client("secretsmanager")
        values = []
        for page in sm.get_paginator("list_secrets").paginate():
            for s in page["SecretList"]:
                if not self.tagged(s.get("Tags")):
                    continue
                self.checked["secrets"] += 1
                try:
                    v = sm.get_secret_value(SecretId=s["ARN"]).get("SecretString") or ""
                except sm.exceptions.ResourceNotFoundException:
                    continue
                values.append(v)
                try:
                    parsed = json.loads(v)
                except ValueError:
                    continue
                if isinstance(parsed, dict):
                    # The credentials of a composed secret; its user name, host and port are not
                    # secret (an issuer URL may well name the same host).
                    values += [str(v) for k, v in parsed.items() if CREDENTIAL_KEY.search(k) and isinstance(v, str)]
        return [v for v in values if len(v) >= 8]

    def environments(self):
        ecs = self.client("ecs")
        secrets = self.secret_values()
        for td in sorted(self.task_definitions):
            d = ecs.describe_task_definition(taskDefinition=td)["taskDefinition"]
            for c in d.get("containerDefinitions", []):
                self.checked["containers"] += 1
                for e in c.get("environment", []):
                    name, value = e.get("name", ""), e.get("value", "")
                    where = f"{d['family']}/{c['name']} {name}"
                    if any(s in value for s in secrets):
                        self.find("task environment", f"{where} holds a secret's value in plain environment")
                    if CREDENTIALS_IN_URL.search(value):
                        self.find("task environment", f"{where} holds a URL with credentials")
                for s in c.get("secrets", []):
                    if not s.get("valueFrom", "").startswith(("arn:aws:secretsmanager:", "arn:aws:ssm:")):
                        self.find("task secrets", f"{d['family']}/{c['name']} {s.get('name')} not from a secret store")

    # --- data ------------------------------------------------------------------------------------

    def databases(self):
        rds = self.client("rds")
        for i in rds.describe_db_instances()["DBInstances"]:
            if not self.tagged(i.get("TagList")):
                continue
            name = i["DBInstanceIdentifier"]
            self.checked["databases"] += 1
            if not i.get("StorageEncrypted"):
                self.find("database", f"{name} is not encrypted at rest")
            if i.get("PubliclyAccessible"):
                self.find("database", f"{name} is publicly accessible")
            subnets = [s["SubnetIdentifier"] for s in i.get("DBSubnetGroup", {}).get("Subnets", [])]
            self.private(f"database {name}", subnets)
            groups = [g["VpcSecurityGroupId"] for g in i.get("VpcSecurityGroups", [])]
            self.only_from(f"database {name}", groups, self.app_groups)
            if self.prod and not i.get("DeletionProtection"):
                self.find("database", f"{name} has no deletion protection in prod")
            if self.prod and not i.get("BackupRetentionPeriod"):
                self.find("database", f"{name} keeps no backups in prod")

    def caches(self):
        ec = self.client("elasticache")
        members = {c["CacheClusterId"]: c for c in ec.describe_cache_clusters()["CacheClusters"]}
        groups = {g["CacheSubnetGroupName"]: g for g in ec.describe_cache_subnet_groups()["CacheSubnetGroups"]}
        for g in ec.describe_replication_groups()["ReplicationGroups"]:
            tags = _unless_gone(lambda g=g: ec.list_tags_for_resource(ResourceName=g["ARN"]).get("TagList", []))
            if tags is None or not self.tagged(tags):
                continue
            name = g["ReplicationGroupId"]
            self.checked["caches"] += 1
            if not g.get("AtRestEncryptionEnabled"):
                self.find("cache", f"{name} is not encrypted at rest")
            if not g.get("TransitEncryptionEnabled"):
                self.find("cache", f"{name} is not encrypted in transit")
            for m in g.get("MemberClusters", []):
                c = members.get(m, {})
                sg = [s["SecurityGroupId"] for s in c.get("SecurityGroups", [])]
                self.only_from(f"cache {name}", sg, self.app_groups)
                subnet_group = groups.get(c.get("CacheSubnetGroupName"), {})
                self.private(f"cache {name}", [s["SubnetIdentifier"] for s in subnet_group.get("Subnets", [])])
            if self.prod and not g.get("SnapshotRetentionLimit"):
                self.find("cache", f"{name} keeps no snapshots in prod")

    # --- edge ------------------------------------------------------------------------------------

    def load_balancers(self):
        elb = self.client("elbv2")
        ports, alb_groups = set(), set()
        for lb in elb.describe_load_balancers()["LoadBalancers"]:
            arn = lb["LoadBalancerArn"]
            tags = _unless_gone(
                lambda arn=arn: elb.describe_tags(ResourceArns=[arn])["TagDescriptions"][0].get("Tags", [])
            )
            if tags is None or not self.tagged(tags):
                continue
            self.checked["load balancers"] += 1
            alb_groups |= set(lb.get("SecurityGroups", []))
            for listener in elb.describe_listeners(LoadBalancerArn=arn)["Listeners"]:
                ports.add(listener["Port"])
            attrs = {
                a["Key"]: a["Value"] for a in elb.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
            }
            name = lb["LoadBalancerName"]
            if attrs.get("routing.http.drop_invalid_header_fields.enabled") != "true":
                self.find("load balancer", f"{name} forwards invalid header fields")
            if self.prod and attrs.get("deletion_protection.enabled") != "true":
                self.find("load balancer", f"{name} has no deletion protection in prod")
        return ports, alb_groups

    def repositories(self):
        ecr = self.client("ecr")
        for r in ecr.describe_repositories().get("repositories", []):
            tags = _unless_gone(lambda r=r: ecr.list_tags_for_resource(resourceArn=r["repositoryArn"]).get("tags", []))
            if tags is None or not self.tagged(tags):
                continue
            name = r["repositoryName"]
            self.checked["repositories"] += 1
            if not r.get("imageScanningConfiguration", {}).get("scanOnPush"):
                self.find("repository", f"{name} does not scan on push")
            if r.get("imageTagMutability") != "IMMUTABLE":
                self.find("repository", f"{name} has mutable tags")

    def topics(self):
        sns = self.client("sns")
        for page in sns.get_paginator("list_topics").paginate():
            for t in page["Topics"]:
                arn = t["TopicArn"]
                tags = _unless_gone(lambda arn=arn: sns.list_tags_for_resource(ResourceArn=arn).get("Tags", []))
                if tags is None or not self.tagged(tags):
                    continue
                self.checked["topics"] += 1
                if not sns.get_topic_attributes(TopicArn=arn)["Attributes"].get("KmsMasterKeyId"):
                    self.find("topic", f"{arn} is not encrypted at rest")

    # --- identity --------------------------------------------------------------------------------

    def statements(self, where, document):
        if isinstance(document, str):
            document = json.loads(document)
        stmts = document.get("Statement", [])
        for s in stmts if isinstance(stmts, list) else [stmts]:
            if s.get("Effect") != "Allow":
                continue
            actions = s.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            resources = s.get("Resource", [])
            resources = [resources] if isinstance(resources, str) else resources
            if "*" in actions:
                self.find("role", f"{where} allows every action")
            if "*" in resources:
                extra = sorted(set(actions) - ANY_RESOURCE_ACTIONS)
                if extra:
                    self.find("role", f"{where} grants {extra} on every resource")

    def roles(self):
        iam = self.client("iam")
        for page in iam.get_paginator("list_roles").paginate():
            for r in page["Roles"]:
                # IAM is account-wide: a role another stack deletes meanwhile is skipped, however
                # far its inspection got.
                _unless_gone(lambda r=r: self.role(iam, r["RoleName"]))

    def role(self, iam, name):
        if not self.tagged(iam.list_role_tags(RoleName=name).get("Tags", [])):
            return
        self.checked["roles"] += 1
        for p in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            doc = iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
            self.statements(f"{name}/{p}", doc)
        for a in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            arn = a["PolicyArn"]
            if arn.startswith("arn:aws:iam::aws:policy/"):
                self.find("role", f"{name} has the AWS managed policy {arn} attached")
                continue
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            doc = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
            self.statements(f"{name}/{a['PolicyName']}", doc)

    def state_bucket(self, bucket):
        s3 = self.client("s3")
        self.checked["state buckets"] += 1
        if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
            self.find("state bucket", f"{bucket} is not versioned")
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        if not rules:
            self.find("state bucket", f"{bucket} is not encrypted")
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        keys = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
        if not all(block.get(k) for k in keys):
            self.find("state bucket", f"{bucket} does not block public access: {block}")

    # --- after a destroy -------------------------------------------------------------------------

    def final_snapshots(self):
        """A destroyed prod stack leaves a final snapshot of each database and cache it had."""
        rds, ec = self.client("rds"), self.client("elasticache")
        prefix = f"{self.stack}-"
        dbs = [
            s["DBSnapshotIdentifier"]
            for s in rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
            if s["DBSnapshotIdentifier"].startswith(prefix) and "-final-" in s["DBSnapshotIdentifier"]
        ]
        caches = [
            s["SnapshotName"]
            for s in ec.describe_snapshots()["Snapshots"]
            if s["SnapshotName"].startswith(prefix) and "-final-" in s["SnapshotName"]
        ]
        self.checked["final database snapshots"] += len(dbs)
        self.checked["final cache snapshots"] += len(caches)
        return dbs, caches


def run(args):
    a = Audit(args.stack, args.stage, args.region)
    if args.destroyed:
        dbs, caches = a.final_snapshots()
        return {"findings": a.findings, "checked": dict(a.checked), "databases": dbs, "caches": caches}
    a.network()
    a.services()
    ports, alb_groups = a.load_balancers()
    a.open_ingress(ports, alb_groups)
    a.databases()
    a.caches()
    a.environments()
    a.repositories()
    a.topics()
    a.roles()
    if args.state_bucket:
        a.state_bucket(args.state_bucket)
    return {"findings": a.findings, "checked": dict(a.checked)}


def main(argv):
    p = argparse.ArgumentParser(prog="skyforge_localstack.audit")
    p.add_argument("stack")
    p.add_argument("--stage", required=True)
    p.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    p.add_argument("--state-bucket")
    p.add_argument("--destroyed", action="store_true")
    print(json.dumps(run(p.parse_args(argv)), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
