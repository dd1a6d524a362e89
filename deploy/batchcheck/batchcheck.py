"""Check AWS Batch requests offline against botocore's service model.

Reads one JSON document on stdin, as `s3batchkit plan split --emit
aws-batch` prints it, and validates each element of
register_job_definitions against the input shape of RegisterJobDefinition
and each element of submit_jobs against SubmitJob, in the Batch service
model that botocore ships (Debian: python3-botocore,
botocore/data/batch/2016-08-10/service-2.json):

- botocore.validate.validate_parameters: required members, unknown
  members, types, minimum lengths and values;
- this script: enum values (botocore's validator does not check them),
  required strings that are empty, and the documented bounds that the model states only in prose (array
  size 2-10,000, attempts 1-10, timeout at least 60 s, names).

Prints "ok: N requests (botocore X, batch API Y)" or the problems, each
naming the request, and exits 1 on any.
"""

import json
import re
import sys

import botocore
import botocore.session
from botocore.validate import validate_parameters

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def enum_problems(shape, value, path):
    """Yield the values of value that are not in their shape's enum."""
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                yield from enum_problems(member, value[name], path + "." + name)
    elif shape.type_name == "list" and isinstance(value, list):
        for i, v in enumerate(value):
            yield from enum_problems(shape.member, v, "%s[%d]" % (path, i))
    elif shape.type_name == "map" and isinstance(value, dict):
        for k, v in value.items():
            yield from enum_problems(shape.value, v, "%s.%s" % (path, k))
    elif shape.type_name == "string" and shape.enum and value not in shape.enum:
        yield "%s: %r is not one of %s" % (path, value, ", ".join(shape.enum))


def empty_required(shape, value, path):
    """Yield the required string members that are empty: botocore checks
    that they are present, Batch also that they hold something."""
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name not in value:
                continue
            if name in shape.required_members and member.type_name == "string" and value[name] == "":
                yield "%s.%s: required, and empty" % (path, name)
            yield from empty_required(member, value[name], path + "." + name)
    elif shape.type_name == "list" and isinstance(value, list):
        for i, v in enumerate(value):
            yield from empty_required(shape.member, v, "%s[%d]" % (path, i))


def bound_problems(op, req, path):
    if op == "RegisterJobDefinition":
        if not NAME_RE.match(req.get("jobDefinitionName", "")):
            yield path + ".jobDefinitionName: up to 128 letters, digits, hyphens, underscores"
        attempts = req.get("retryStrategy", {}).get("attempts")
        if attempts is not None and not 1 <= attempts <= 10:
            yield path + ".retryStrategy.attempts: 1 to 10"
        rules = req.get("retryStrategy", {}).get("evaluateOnExit", [])
        if len(rules) > 5:
            yield path + ".retryStrategy.evaluateOnExit: at most 5 rules"
        for i, r in enumerate(rules):
            if "onExitCode" in r and not re.match(r"^[0-9]*\*?$", r["onExitCode"]):
                yield "%s.retryStrategy.evaluateOnExit[%d].onExitCode: digits, may end with *" % (path, i)
            for k in ("onReason", "onStatusReason"):
                if k in r and not re.match(r"^[A-Za-z0-9.: \t]*\*?$", r[k]):
                    yield "%s.retryStrategy.evaluateOnExit[%d].%s: letters, digits, . : and spaces, may end with *" % (path, i, k)
        t = req.get("timeout", {}).get("attemptDurationSeconds")
        if t is not None and t < 60:
            yield path + ".timeout.attemptDurationSeconds: at least 60"
        if req.get("type") == "container" and not req.get("containerProperties", {}).get("image"):
            yield path + ".containerProperties.image: required for a container job"
        cmd = req.get("containerProperties", {}).get("command", [])
        if not all(isinstance(a, str) for a in cmd):
            yield path + ".containerProperties.command: strings"
    if op == "SubmitJob":
        if not NAME_RE.match(req.get("jobName", "")):
            yield path + ".jobName: up to 128 letters, digits, hyphens, underscores"
        size = req.get("arrayProperties", {}).get("size")
        if size is not None and not 2 <= size <= 10000:
            yield path + ".arrayProperties.size: 2 to 10,000"


def main():
    doc = json.load(sys.stdin)
    model = botocore.session.get_session().get_service_model("batch")
    problems = []
    n = 0
    for key, op in (("register_job_definitions", "RegisterJobDefinition"), ("submit_jobs", "SubmitJob")):
        shape = model.operation_model(op).input_shape
        reqs = doc.get(key)
        if not isinstance(reqs, list) or not reqs:
            problems.append("%s: missing or empty" % key)
            continue
        for i, req in enumerate(reqs):
            n += 1
            path = "%s[%d]" % (key, i)
            try:
                validate_parameters(req, shape)
            except botocore.exceptions.ParamValidationError as e:
                problems.append("%s (%s): %s" % (path, op, e))
            problems.extend(enum_problems(shape, req, path))
            problems.extend(empty_required(shape, req, path))
            problems.extend(bound_problems(op, req, path))
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        sys.exit(1)
    print("ok: %d requests (botocore %s, batch API %s)" % (n, botocore.__version__, model.api_version))


if __name__ == "__main__":
    main()
