#!/usr/bin/env python3
"""moto server, plus the two Step Functions actions moto 5.2.5 lacks and the
hashicorp/aws provider calls, so that `terraform apply` of terraform/ runs
against moto (make e2e, make deploy-local).

- ValidateStateMachineDefinition: the provider calls it at plan time once a
  definition is known. The definition is parsed with the ASL parser moto
  ships (LocalStack's, moto/stepfunctions/parser/asl) and its static
  analyser, as moto's own CreateStateMachine does; a definition it refuses
  answers result FAIL with one ERROR diagnostic, code
  SCHEMA_VALIDATION_FAILED, which the provider turns into a plan error.
- ListStateMachineVersions: the provider calls it when reading a state
  machine back; answered from moto's own record of published versions.

Without them moto answers an HTML 500, which the provider retries as a
transient error: the apply looks hung.

And CloudWatch Logs' saved queries, which moto 5.2.5 lacks and the
dashboard's aws_cloudwatch_query_definition needs: PutQueryDefinition
(create, or update by queryDefinitionId), DescribeQueryDefinitions (by name
prefix) and DeleteQueryDefinition, kept per account and region.

And what moto's IAM enforcement (INITIAL_NO_AUTH_ACTION_COUNT, switched on
and off at run time by POST /moto-api/reset-auth) needs to check the
service's roles as AWS would (make e2e):
- Resources: moto checks SSM, Step Functions, SNS and Lambda calls against
  the resource "*", so a statement scoped to an ARN never matches and every
  least-privilege role is refused. The shim gives those services the ARN AWS
  authorizes (the parameter, state machine, execution, topic, function; for
  the task-token actions, the state machine whose execution holds the token).
- Action names: moto names an IAM action after the API operation; Lambda's
  Invoke is authorized by AWS as lambda:InvokeFunction.
- The state machine's own role: moto's interpreter signs its Lambda, SNS and
  SQS calls with fixed keys; with enforcement on, the shim signs them with
  credentials of an sts:AssumeRole of the execution's role, as Step
  Functions does.
- A log of every decision (MOTO_SHIM_AUTH_LOG, JSON lines: access key,
  principal, action, resource, allowed), so a test can assert that nothing
  was denied and which actions each role used.

Usage: python tools/moto_shim.py [moto_server arguments: -H HOST -p PORT]
Run with the Python of .venv (make venv), where the pinned moto is.
"""

import json
import os
import sys
import threading
from urllib.parse import parse_qs, unquote, urlparse

from moto import settings
from moto.core.responses import ActionResult
from moto.stepfunctions.parser.asl.parse.asl_parser import ASLParserException
from moto.stepfunctions.parser.asl.static_analyser.express_static_analyser import (
    ExpressStaticAnalyser,
)
from moto.stepfunctions.parser.asl.static_analyser.static_analyser import (
    StaticAnalyser,
)
from moto.stepfunctions.responses import StepFunctionResponse

#: The diagnostic code AWS gives a definition that does not parse.
SCHEMA_VALIDATION_FAILED = "SCHEMA_VALIDATION_FAILED"


def definition_problem(definition, machine_type="STANDARD"):
    """None if the ASL parser and static analyser accept `definition`, else
    why not (a one-line message)."""
    analyser = ExpressStaticAnalyser() if machine_type == "EXPRESS" else StaticAnalyser()
    try:
        if not isinstance(definition, str):
            raise ValueError("the definition must be a string")
        analyser.analyse(definition)
    except ASLParserException as error:
        return repr(error)
    except Exception as error:  # the parser raises plain errors too
        return f"{type(error).__name__}: {error}"
    return None


def validate_state_machine_definition(self):
    problem = definition_problem(
        self._get_param("definition"), self._get_param("type") or "STANDARD"
    )
    if problem is None:
        return ActionResult({"result": "OK", "diagnostics": [], "truncated": False})
    diagnostic = {
        "severity": "ERROR",
        "code": SCHEMA_VALIDATION_FAILED,
        "message": problem,
    }
    return ActionResult({"result": "FAIL", "diagnostics": [diagnostic], "truncated": False})


def list_state_machine_versions(self):
    # Raises StateMachineDoesNotExist for an unknown machine, as AWS does.
    machine = self.stepfunction_backend.describe_state_machine(
        self._get_param("stateMachineArn")
    )
    versions = sorted(
        getattr(machine, "versions", {}).values(),
        key=lambda v: v.creation_date,
        reverse=True,
    )
    return ActionResult(
        {
            "stateMachineVersions": [
                {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date}
                for v in versions
            ]
        }
    )


#: IAM action names that differ from the API operation moto names them after.
IAM_ACTION_NAMES = {"lambda:Invoke": "lambda:InvokeFunction"}

#: Step Functions parameters that name the resource AWS authorizes, in order.
SFN_RESOURCE_PARAMETERS = ("executionArn", "stateMachineArn")


def ssm_resource(response):
    """The parameter's ARN (GetParameter and the other one-name actions);
    for GetParameters, the list of its names' ARNs: AWS authorizes each."""

    def arn(name):
        if name.startswith("arn:"):
            return name
        return f"arn:aws:ssm:{response.region}:{response.current_account}:parameter/{name.lstrip('/')}"

    names = response._get_param("Names")
    if isinstance(names, list) and names and all(isinstance(n, str) and n for n in names):
        return [arn(n) for n in names]
    name = response._get_param("Name")
    if not isinstance(name, str) or not name:
        return "*"
    return arn(name)


def sfn_resource(response):
    """The execution's or the state machine's ARN the request names; for
    SendTaskHeartbeat, SendTaskSuccess and SendTaskFailure, the state
    machine whose execution waits for the task token (how AWS scopes them:
    a grant on the state machine lets a worker answer its tokens)."""
    for parameter in SFN_RESOURCE_PARAMETERS:
        value = response._get_param(parameter)
        if isinstance(value, str) and value:
            return value
    token = response._get_param("taskToken")
    if isinstance(token, str) and token:
        return task_token_state_machine(response, token)
    return "*"


def task_token_state_machine(response, token):
    """The ARN of the state machine one of whose executions holds `token`
    (moto's interpreter keeps a callback per token); `*` when none does."""
    try:
        executions = response.stepfunction_backend._get_executions()
    except Exception:  # a backend without the interpreter's executions
        return "*"
    for execution in executions:
        worker = getattr(execution, "exec_worker", None)
        pool = getattr(getattr(worker, "env", None), "callback_pool_manager", None)
        if pool is not None and pool.get(token) is not None:
            return execution.state_machine_arn
    return "*"


def sns_resource(response):
    """The topic's ARN (Publish)."""
    value = response._get_param("TopicArn")
    return value if isinstance(value, str) and value else "*"


def lambda_resource(response):
    """The function's ARN, with the qualifier when one is given: from the
    path /2015-03-31/functions/{name or ARN}/invocations."""
    parts = urlparse(response.uri).path.split("/")
    if len(parts) < 4 or parts[2] != "functions" or not parts[3]:
        return "*"
    name = unquote(parts[3])
    arn = name if name.startswith("arn:") else (
        f"arn:aws:lambda:{response.region}:{response.current_account}:function:{name}"
    )
    qualifier = parse_qs(urlparse(response.uri).query).get("Qualifier")
    if qualifier and arn.count(":") == 6:
        arn = f"{arn}:{qualifier[0]}"
    return arn


_log_lock = threading.Lock()


def record(entry):
    """Appends one authorization decision to MOTO_SHIM_AUTH_LOG, if set."""
    path = os.environ.get("MOTO_SHIM_AUTH_LOG")
    if not path:
        return
    with _log_lock, open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(entry, sort_keys=True) + "\n")


def install_iam():
    """Resource-aware, correctly named and logged IAM checks (module doc)."""
    from moto.awslambda.responses import LambdaResponse
    from moto.iam.access_control import IAMRequestBase
    from moto.sns.responses import SNSResponse
    from moto.ssm.responses import SimpleSystemManagerResponse

    SimpleSystemManagerResponse._determine_resource = ssm_resource
    StepFunctionResponse._determine_resource = sfn_resource
    SNSResponse._determine_resource = sns_resource
    LambdaResponse._determine_resource = lambda_resource

    original_init = IAMRequestBase.__init__
    original_check = IAMRequestBase.check_action_permitted

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self._action = IAM_ACTION_NAMES.get(self._action, self._action)

    def check_action_permitted(self, resource):
        if isinstance(resource, list):
            # Several resources in one request: each must be allowed.
            for one in resource:
                check_action_permitted(self, one)
            return
        key = self._access_key
        entry = {
            "access_key": getattr(key, "_access_key_id", None),
            "principal": key.arn,
            "action": self._action,
            "resource": resource,
        }
        try:
            original_check(self, resource)
        except Exception:
            record({**entry, "allowed": False})
            raise
        record({**entry, "allowed": True})

    IAMRequestBase.__init__ = init
    IAMRequestBase.check_action_permitted = check_action_permitted


def enforcing():
    """Whether moto checks IAM now (POST /moto-api/reset-auth sets it)."""
    return settings.INITIAL_NO_AUTH_ACTION_COUNT != float("inf")


def install_state_machine_credentials():
    """moto's interpreter calls Lambda, SNS and SQS through moto's own endpoint
    with fixed keys; with enforcement on, sign them as the execution's role
    (the task's credentials default to it), from an sts:AssumeRole."""
    import boto3
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
        lambda_eval_utils,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk,
        state_task_service_sns,
        state_task_service_sqs,
    )
    from moto.stepfunctions.parser.asl.utils import boto_client
    from moto.sts.models import sts_backends

    original = boto_client.boto_client_for

    def boto_client_for(region, service, state_credentials=None):
        role_arn = getattr(state_credentials, "role_arn", None)
        client = original(region, service, state_credentials)
        if not enforcing() or not role_arn:
            return client
        account = role_arn.split(":")[4]
        role = sts_backends[account]["aws"].assume_role(
            region_name=region,
            role_session_name="states",
            role_arn=role_arn,
            policy=None,
            duration=900,
            external_id=None,
        )
        return boto3.client(
            service_name=service,
            region_name=region,
            endpoint_url=client.meta.endpoint_url,
            aws_access_key_id=role.access_key_id,
            aws_secret_access_key=role.secret_access_key,
            aws_session_token=role.session_token,
            config=client.meta.config,
        )

    for module in (
        boto_client,
        lambda_eval_utils,
        state_task_service_sns,
        state_task_service_sqs,
        state_task_service_aws_sdk,
    ):
        module.boto_client_for = boto_client_for


#: Saved Logs Insights queries: (account, region) -> {id: definition}.
QUERY_DEFINITIONS = {}
_QUERY_LOCK = threading.Lock()


def _queries(response):
    return QUERY_DEFINITIONS.setdefault((response.current_account, response.region), {})


def put_query_definition(self):
    import time
    import uuid

    name = self._get_param("name")
    query = self._get_param("queryString")
    if not isinstance(name, str) or not name or not isinstance(query, str) or not query:
        from moto.logs.exceptions import InvalidParameterException

        raise InvalidParameterException("name and queryString are required")
    with _QUERY_LOCK:
        store = _queries(self)
        qid = self._get_param("queryDefinitionId") or str(uuid.uuid4())
        store[qid] = {
            "queryDefinitionId": qid,
            "name": name,
            "queryString": query,
            "logGroupNames": self._get_param("logGroupNames") or [],
            "lastModified": int(time.time() * 1000),
        }
    return json.dumps({"queryDefinitionId": qid})


def describe_query_definitions(self):
    prefix = self._get_param("queryDefinitionNamePrefix") or ""
    with _QUERY_LOCK:
        found = [q for q in _queries(self).values() if q["name"].startswith(prefix)]
    return json.dumps({"queryDefinitions": sorted(found, key=lambda q: q["name"])})


def delete_query_definition(self):
    with _QUERY_LOCK:
        gone = _queries(self).pop(self._get_param("queryDefinitionId"), None)
    return json.dumps({"success": gone is not None})


def install():
    """Adds the two actions to moto's Step Functions responses (moto
    dispatches an action to the method of the same snake_case name), and
    the IAM enforcement's fixes (module doc)."""
    StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition
    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions
    from moto.logs.responses import LogsResponse

    LogsResponse.put_query_definition = put_query_definition
    LogsResponse.describe_query_definitions = describe_query_definitions
    LogsResponse.delete_query_definition = delete_query_definition
    install_iam()
    install_state_machine_credentials()


def main(argv):
    install()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
