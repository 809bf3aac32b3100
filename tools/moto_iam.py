#!/usr/bin/env python3
"""IAM set-up for running code under deployed roles in moto (make e2e).

  moto_iam.py principals ENDPOINT ROLE_ARN...
      With IAM enforcement still off: an administrator user with an access key
      (for the test's own reads once enforcement is on), and for each role an
      sts:AssumeRole session and the role's inline policy documents. Prints
      JSON: {"admin": {access_key_id, secret_access_key},
             "roles": {ROLE_ARN: {principal, access_key_id, secret_access_key,
                                  session_token, policies: [document, ...]}}}
  moto_iam.py enforce ENDPOINT on|off
      Switches moto's IAM enforcement on (every later request is checked
      against the caller's identity policies) or off.

Run with the Python of .venv (make venv), where the pinned moto and boto3 are.
"""

import json
import sys
import urllib.request

import boto3

REGION = "us-east-1"
ADMIN = "e2e-administrator"


def client(endpoint, service, **keys):
    keys = keys or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, **keys)


def principals(endpoint, role_arns):
    iam, sts = client(endpoint, "iam"), client(endpoint, "sts")
    iam.create_user(UserName=ADMIN)
    iam.put_user_policy(
        UserName=ADMIN,
        PolicyName="administrator",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName=ADMIN)["AccessKey"]
    roles = {}
    for arn in role_arns:
        name = arn.split("/")[-1]
        documents = []
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
            documents.append(json.loads(document) if isinstance(document, str) else document)
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        if attached:
            sys.exit(f"role {name} has managed policies attached ({attached}): the e2e reads inline policies only")
        session = sts.assume_role(RoleArn=arn, RoleSessionName=name)
        creds = session["Credentials"]
        roles[arn] = {
            "principal": session["AssumedRoleUser"]["Arn"],
            "access_key_id": creds["AccessKeyId"],
            "secret_access_key": creds["SecretAccessKey"],
            "session_token": creds["SessionToken"],
            "policies": documents,
        }
    return {
        "admin": {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]},
        "roles": roles,
    }


def enforce(endpoint, on):
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=b"0" if on else b"inf",
        method="POST",
        # A form content type would make the server parse the body away.
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request) as answer:
        if answer.status != 200:
            sys.exit(f"moto-api/reset-auth answered {answer.status}")


def main(argv):
    if len(argv) >= 2 and argv[0] == "principals":
        print(json.dumps(principals(argv[1], argv[2:])))
    elif len(argv) == 3 and argv[0] == "enforce" and argv[2] in ("on", "off"):
        enforce(argv[1], argv[2] == "on")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
