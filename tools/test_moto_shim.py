"""Checks of tools/moto_shim.py against a moto server in this process:
the two added Step Functions actions answer as AWS does, and a definition
the ASL parser refuses is a FAIL the provider reports (it is not "OK").

Run: .venv/bin/python -m unittest tools/test_moto_shim.py  (make e2e runs it)
"""

import json
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import boto3  # noqa: E402
import botocore.exceptions  # noqa: E402
from moto.moto_server.threaded_moto_server import ThreadedMotoServer  # noqa: E402

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


if __name__ == "__main__":
    unittest.main()
