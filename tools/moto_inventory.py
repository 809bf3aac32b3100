#!/usr/bin/env python3
"""What exists in a moto server, per service, for the services the Terraform
root module uses: prints one JSON object {kind: [sorted names]} (every kind
present, empty or not).

Used by `make e2e` (after `terraform destroy` every kind must be empty) and
`make deploy-local` (what `terraform apply` created).

Usage: python tools/moto_inventory.py http://127.0.0.1:PORT [--region us-east-1]
Run with the Python of .venv (boto3 comes with moto).
"""

import argparse
import json

import boto3


def inventory(endpoint, region="us-east-1"):
    def client(service):
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def pages(service, operation, key, **kwargs):
        c = client(service)
        if c.can_paginate(operation):
            for page in c.get_paginator(operation).paginate(**kwargs):
                yield from page.get(key, [])
        else:
            yield from getattr(c, operation)(**kwargs).get(key, [])

    iam, kms, events = client("iam"), client("kms"), client("events")
    roles = [r["RoleName"] for r in pages("iam", "list_roles", "Roles")]
    rules = [r["Name"] for r in pages("events", "list_rules", "Rules")]
    out = {
        "cloudwatch alarms": [a["AlarmName"] for a in pages("cloudwatch", "describe_alarms", "MetricAlarms")],
        "cloudwatch dashboards": [d["DashboardName"] for d in pages("cloudwatch", "list_dashboards", "DashboardEntries")],
        "eventbridge buses (other than default)": [
            b["Name"] for b in events.list_event_buses().get("EventBuses", []) if b["Name"] != "default"
        ],
        "eventbridge rules": rules,
        "eventbridge targets": [
            f"{rule}/{t['Id']}" for rule in rules for t in events.list_targets_by_rule(Rule=rule).get("Targets", [])
        ],
        "iam roles": roles,
        "iam role policies": [
            f"{role}/{p}" for role in roles for p in iam.list_role_policies(RoleName=role).get("PolicyNames", [])
        ],
        "iam policies (local)": [p["PolicyName"] for p in pages("iam", "list_policies", "Policies", Scope="Local")],
        # A deleted key stays, PendingDeletion, for its waiting period (as in AWS).
        "kms keys (not pending deletion)": [
            k["KeyId"]
            for k in pages("kms", "list_keys", "Keys")
            if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] != "PendingDeletion"
        ],
        "kms aliases (not AWS managed)": [
            a["AliasName"] for a in pages("kms", "list_aliases", "Aliases") if not a["AliasName"].startswith("alias/aws/")
        ],
        "lambda functions": [f["FunctionName"] for f in pages("lambda", "list_functions", "Functions")],
        "lambda event source mappings": [
            m["UUID"] for m in pages("lambda", "list_event_source_mappings", "EventSourceMappings")
        ],
        "logs groups": [g["logGroupName"] for g in pages("logs", "describe_log_groups", "logGroups")],
        "logs metric filters": [f["filterName"] for f in pages("logs", "describe_metric_filters", "metricFilters")],
        # Saved Logs Insights queries (the moto shim serves them).
        "logs query definitions": [
            q["name"] for q in pages("logs", "describe_query_definitions", "queryDefinitions")
        ],
        "sfn state machines": [m["name"] for m in pages("stepfunctions", "list_state_machines", "stateMachines")],
        "sns topics": [t["TopicArn"] for t in pages("sns", "list_topics", "Topics")],
        "sns subscriptions": [s["SubscriptionArn"] for s in pages("sns", "list_subscriptions", "Subscriptions")],
        "sqs queues": list(client("sqs").list_queues().get("QueueUrls", [])),
        "ssm parameters": [p["Name"] for p in pages("ssm", "describe_parameters", "Parameters")],
    }
    return {kind: sorted(names) for kind, names in sorted(out.items())}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()
    print(json.dumps(inventory(args.endpoint, args.region), indent=2))


if __name__ == "__main__":
    main()
