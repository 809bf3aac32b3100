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

Usage: python tools/moto_shim.py [moto_server arguments: -H HOST -p PORT]
Run with the Python of .venv (make venv), where the pinned moto is.
"""

import sys

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


def install():
    """Adds the two actions to moto's Step Functions responses (moto
    dispatches an action to the method of the same snake_case name)."""
    StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition
    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions


def main(argv):
    install()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
