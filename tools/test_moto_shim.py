"""Checks of tools/moto_shim.py against a moto server in this process:
the two added Step Functions actions answer as AWS does, and a definition
the ASL parser refuses is a FAIL the provider reports (it is not "OK");
with IAM enforcement on, a role's ARN-scoped grants are honoured and what
they do not grant is refused, for its own calls and for a state machine
running under it, and every decision is logged.

Run: .venv/bin/python -m unittest tools/test_moto_shim.py  (make e2e runs it)
"""

import json
import os
import socket
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import boto3  # noqa: E402
import botocore.exceptions  # noqa: E402
from moto.moto_server.threaded_moto_server import ThreadedMotoServer  # noqa: E402

import moto_iam  # noqa: E402
import moto_shim  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/sfn"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rendered_retry_machine():
    with open(os.path.join(REPO, "statemachines", "retry.asl.json")) as f:
        text = f.read()
    return text.replace(
        "${restart_function_arn}",
        "arn:aws:lambda:us-east-1:123456789012:function:appflow-retry-restart",
    ).replace("${topic_arn}", "arn:aws:sns:us-east-1:123456789012:appflow-retry-notifications")


class ShimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        moto_shim.install()
        port = free_port()
        cls.server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        cls.server.start()
        cls.sfn = boto3.client(
            "stepfunctions",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def validate(self, definition):
        return self.sfn.validate_state_machine_definition(definition=definition, type="STANDARD")

    def test_the_repository_state_machine_is_valid(self):
        out = self.validate(rendered_retry_machine())
        self.assertEqual(out["result"], "OK", out.get("diagnostics"))
        self.assertEqual(out["diagnostics"], [])

    def test_invalid_definitions_fail_with_an_error_diagnostic(self):
        valid = json.loads(rendered_retry_machine())
        dangling = json.loads(json.dumps(valid))
        dangling["States"]["WaitBackoff"]["Next"] = "NoSuchState"
        unknown_type = json.loads(json.dumps(valid))
        unknown_type["States"]["Done"]["Type"] = "Succeeed"
        no_start = json.loads(json.dumps(valid))
        del no_start["StartAt"]
        for name, definition in [
            ("not JSON", "{not json"),
            ("unknown state type", json.dumps(unknown_type)),
            ("no StartAt", json.dumps(no_start)),
        ]:
            with self.subTest(name):
                out = self.validate(definition)
                self.assertEqual(out["result"], "FAIL", f"{name}: {out}")
                self.assertEqual(len(out["diagnostics"]), 1, out)
                # hashicorp/aws 5.100 fails the plan with "invalid Step
                # Functions State Machine definition: ERROR
                # (SCHEMA_VALIDATION_FAILED): <message>" from these fields.
                diagnostic = out["diagnostics"][0]
                self.assertEqual(diagnostic["severity"], "ERROR")
                self.assertEqual(diagnostic["code"], "SCHEMA_VALIDATION_FAILED")
                self.assertTrue(diagnostic["message"], out)
        # What the parser does not check: a Next naming no state (AWS says
        # MISSING_TRANSITION_TARGET). Recorded so a moto upgrade that
        # starts refusing it is noticed; terraform test covers the template.
        self.assertEqual(self.validate(json.dumps(dangling))["result"], "OK")

    def test_versions_of_a_machine_and_of_no_machine(self):
        arn = self.sfn.create_state_machine(
            name="versions", definition=rendered_retry_machine(), roleArn=ROLE
        )["stateMachineArn"]
        self.assertEqual(self.sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"], [])
        self.sfn.update_state_machine(stateMachineArn=arn, publish=True, definition=rendered_retry_machine())
        versions = self.sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
        self.assertEqual([v["stateMachineVersionArn"] for v in versions], [f"{arn}:1"])
        with self.assertRaises(botocore.exceptions.ClientError) as raised:
            self.sfn.list_state_machine_versions(stateMachineArn=arn.replace("versions", "missing"))
        self.assertEqual(raised.exception.response["Error"]["Code"], "StateMachineDoesNotExist")


    def test_saved_queries_are_put_described_updated_and_deleted(self):
        logs = boto3.client(
            "logs",
            endpoint_url=self.sfn.meta.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        qid = logs.put_query_definition(
            name="appflow-retry/decisions-24h", queryString="fields @timestamp", logGroupNames=["/aws/lambda/x"]
        )["queryDefinitionId"]
        logs.put_query_definition(name="other/q", queryString="fields @message")
        found = logs.describe_query_definitions(queryDefinitionNamePrefix="appflow-retry/")["queryDefinitions"]
        self.assertEqual([(q["queryDefinitionId"], q["queryString"], q["logGroupNames"]) for q in found], [(qid, "fields @timestamp", ["/aws/lambda/x"])])
        logs.put_query_definition(queryDefinitionId=qid, name="appflow-retry/decisions-24h", queryString="fields @message")
        found = logs.describe_query_definitions(queryDefinitionNamePrefix="appflow-retry/")["queryDefinitions"]
        self.assertEqual([q["queryString"] for q in found], ["fields @message"])
        self.assertTrue(logs.delete_query_definition(queryDefinitionId=qid)["success"])
        self.assertEqual(logs.describe_query_definitions(queryDefinitionNamePrefix="appflow-retry/")["queryDefinitions"], [])
        self.assertFalse(logs.delete_query_definition(queryDefinitionId=qid)["success"])


ACCOUNT = "123456789012"
REGION = "us-east-1"


def arn(service, resource):
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


class IamTest(unittest.TestCase):
    """One role, granted one resource of each kind; the neighbouring
    resource of each kind is refused. The state machine runs under a role
    that may publish to one topic only."""

    @classmethod
    def setUpClass(cls):
        moto_shim.install()
        cls.log = tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False).name
        os.environ["MOTO_SHIM_AUTH_LOG"] = cls.log
        cls.port = free_port()
        # moto's interpreter calls moto's own endpoint on this port.
        os.environ["MOTO_PORT"] = str(cls.port)
        cls.server = ThreadedMotoServer(ip_address="127.0.0.1", port=cls.port, verbose=False)
        cls.server.start()
        cls.endpoint = f"http://127.0.0.1:{cls.port}"
        config = urllib.request.Request(
            f"{cls.endpoint}/moto-api/config",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(config) as answer:
            assert answer.status == 201, answer.status
        admin = cls.client("iam")
        admin.create_user(UserName="admin")
        admin.put_user_policy(
            UserName="admin",
            PolicyName="all",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            ),
        )
        key = admin.create_access_key(UserName="admin")["AccessKey"]
        cls.admin = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
        trust = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
            }
        )
        cls.grants = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["ssm:GetParameter", "ssm:GetParameters"],
                    "Resource": arn("ssm", "parameter/app/*"),
                },
                {"Effect": "Allow", "Action": ["states:StartExecution"], "Resource": arn("states", "stateMachine:granted")},
                {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": arn("sns", "granted")},
                {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": arn("lambda", "function:granted")},
            ],
        }
        role = admin.create_role(RoleName="worker", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        admin.put_role_policy(RoleName="worker", PolicyName="grants", PolicyDocument=json.dumps(cls.grants))
        cls.role_arn = role
        ssm, sns, sfn = cls.client("ssm"), cls.client("sns"), cls.client("stepfunctions")
        for name in ["/app/x", "/other/y"]:
            ssm.put_parameter(Name=name, Value="v", Type="String")
        for name in ["granted", "refused"]:
            sns.create_topic(Name=name)
            sfn.create_state_machine(
                name=name,
                roleArn=role,
                definition=json.dumps(
                    {
                        "StartAt": "Publish",
                        "States": {
                            "Publish": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::sns:publish",
                                "Parameters": {"TopicArn": arn("sns", name), "Message": "hello"},
                                "End": True,
                            }
                        },
                    }
                ),
            )
        creds = cls.client("sts").assume_role(RoleArn=role, RoleSessionName="worker")["Credentials"]
        cls.worker = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }
        cls.enforce(True)

    @classmethod
    def tearDownClass(cls):
        cls.enforce(False)
        cls.server.stop()
        os.environ.pop("MOTO_SHIM_AUTH_LOG", None)
        os.unlink(cls.log)

    @classmethod
    def enforce(cls, on):
        moto_iam.enforce(cls.endpoint, on)

    @classmethod
    def client(cls, service, credentials=None):
        keys = credentials or getattr(cls, "admin", None) or {
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        return boto3.client(service, endpoint_url=cls.endpoint, region_name=REGION, **keys)

    def refused(self, call):
        with self.assertRaises(botocore.exceptions.ClientError) as raised:
            call()
        # moto's JSON services answer 403 with an unparsed body ("403" as the code).
        self.assertEqual(raised.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)

    def decisions(self):
        with open(self.log, encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def test_grants_are_scoped_to_their_resources(self):
        ssm = self.client("ssm", self.worker)
        self.assertEqual(ssm.get_parameter(Name="/app/x")["Parameter"]["Value"], "v")
        self.refused(lambda: ssm.get_parameter(Name="/other/y"))
        self.refused(lambda: ssm.put_parameter(Name="/app/x", Value="w", Type="String", Overwrite=True))
        self.assertEqual([p["Value"] for p in ssm.get_parameters(Names=["/app/x"])["Parameters"]], ["v"])
        # GetParameters: every name must be granted, as AWS checks each.
        self.refused(lambda: ssm.get_parameters(Names=["/app/x", "/other/y"]))
        sns = self.client("sns", self.worker)
        sns.publish(TopicArn=arn("sns", "granted"), Message="m")
        self.refused(lambda: sns.publish(TopicArn=arn("sns", "refused"), Message="m"))
        sfn = self.client("stepfunctions", self.worker)
        self.refused(lambda: sfn.start_execution(stateMachineArn=arn("states", "stateMachine:refused")))
        self.refused(lambda: sfn.describe_state_machine(stateMachineArn=arn("states", "stateMachine:granted")))
        lam = self.client("lambda", self.worker)
        self.refused(lambda: lam.invoke(FunctionName="refused", Payload=b"{}"))
        seen = {(d["action"], d["resource"], d["allowed"]) for d in self.decisions() if d["principal"].endswith("/worker")}
        for expected in [
            ("ssm:GetParameter", arn("ssm", "parameter/app/x"), True),
            ("ssm:GetParameter", arn("ssm", "parameter/other/y"), False),
            ("ssm:GetParameters", arn("ssm", "parameter/app/x"), True),
            ("ssm:GetParameters", arn("ssm", "parameter/other/y"), False),
            ("sns:Publish", arn("sns", "granted"), True),
            ("sns:Publish", arn("sns", "refused"), False),
            ("states:StartExecution", arn("states", "stateMachine:refused"), False),
            # AWS's name for Invoke, so that a lambda:InvokeFunction grant applies.
            ("lambda:InvokeFunction", arn("lambda", "function:refused"), False),
        ]:
            self.assertIn(expected, seen)

    def test_the_state_machine_runs_under_its_role(self):
        sfn = self.client("stepfunctions", self.worker)
        admin = self.client("stepfunctions")
        outcomes = {}
        for name in ["granted", "refused"]:
            if name == "granted":
                execution = sfn.start_execution(stateMachineArn=arn("states", f"stateMachine:{name}"))
            else:
                execution = admin.start_execution(stateMachineArn=arn("states", f"stateMachine:{name}"))
            for _ in range(200):
                status = admin.describe_execution(executionArn=execution["executionArn"])["status"]
                if status != "RUNNING":
                    break
                time.sleep(0.05)
            outcomes[name] = status
        # The publish to the topic the role may not publish to fails the task.
        self.assertEqual(outcomes, {"granted": "SUCCEEDED", "refused": "FAILED"})
        publishes = [
            (d["principal"].split("/")[-2], d["resource"], d["allowed"])
            for d in self.decisions()
            if d["action"] == "sns:Publish" and "/states" in d["principal"]
        ]
        self.assertIn(("worker", arn("sns", "granted"), True), publishes)
        self.assertIn(("worker", arn("sns", "refused"), False), publishes)


if __name__ == "__main__":
    unittest.main()
