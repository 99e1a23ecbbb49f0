#!/usr/bin/env python3
"""Strip the AWS Proton Smithy model to shapes, traits and constraints.

Reads the Smithy JSON AST of AWS Proton (smithy-proton-2020-07-20.json) and
writes src/model/proton.json, the model the proton-vcr binary embeds: every
shape except resources, with only the traits that change what goes on the
wire or what a request must satisfy. Documentation, examples, endpoint rules,
ARN templates and resource bindings are dropped; the service shape lists every
operation directly instead. The output is still a Smithy JSON AST.

If the botocore model (botocore-proton-2020-07-20.service-2.json) is beside
it, the script checks that both agree on the operations and on the
X-Amz-Target prefix, and stops if they do not.

Both are public: the Smithy model is AWS's (github.com/aws/api-models-aws,
service `proton`, version 2020-07-20) and the botocore one is
botocore/data/proton/2020-07-20/service-2.json in github.com/boto/botocore.
Put them in one folder under the names above and pass it with --models.
src/model/tests.rs runs this script on a small model in src/model/testdata/.

The output is deterministic: sorted keys, one shape per line, so re-running on
the same input gives the same bytes and a model update reads as a small diff.
Python 3 standard library only.
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "src" / "model" / "proton.json"
SMITHY_FILE = "smithy-proton-2020-07-20.json"
BOTOCORE_FILE = "botocore-proton-2020-07-20.service-2.json"

# Traits that shape validation, serialization or the mock's behaviour. Anything
# else (documentation, examples, references, arn templates, waiters, endpoint
# rules) is prose or tooling and stays out of the binary.
KEPT_TRAITS = {
    "smithy.api#clientOptional",
    "smithy.api#default",
    "smithy.api#enum",
    "smithy.api#enumValue",
    "smithy.api#error",
    "smithy.api#httpError",
    "smithy.api#idempotencyToken",
    "smithy.api#idempotent",
    "smithy.api#input",
    "smithy.api#jsonName",
    "smithy.api#length",
    "smithy.api#output",
    "smithy.api#paginated",
    "smithy.api#pattern",
    "smithy.api#range",
    "smithy.api#readonly",
    "smithy.api#required",
    "smithy.api#retryable",
    "smithy.api#sensitive",
    "smithy.api#sparse",
    "smithy.api#streaming",
    "smithy.api#timestampFormat",
    "smithy.api#uniqueItems",
}
SERVICE_TRAITS = {
    "aws.api#service",
    "aws.auth#sigv4",
    "aws.protocols#awsJson1_0",
    "aws.protocols#awsJson1_1",
}
# Only the wire-relevant parts of an enum entry; its documentation and tags go.
ENUM_ENTRY_KEYS = ("name", "value")
# Shape properties that point at other shapes or list members.
SHAPE_KEYS = ("type", "version", "member", "key", "value", "members",
              "input", "output", "errors")


class ModelError(Exception):
    """The input model is missing, unreadable or inconsistent."""


def strip_traits(traits, kept):
    out = {}
    for name, value in traits.items():
        if name not in kept:
            continue
        if name == "smithy.api#enum":
            value = [{k: entry[k] for k in ENUM_ENTRY_KEYS if k in entry} for entry in value]
        out[name] = value
    return out


def strip_member(member):
    out = {"target": member["target"]}
    traits = strip_traits(member.get("traits", {}), KEPT_TRAITS)
    if traits:
        out["traits"] = traits
    return out


def strip_shape(shape):
    out = {}
    for key in SHAPE_KEYS:
        if key not in shape:
            continue
        value = shape[key]
        if key in ("member", "key", "value"):
            value = strip_member(value)
        elif key == "members":
            value = {name: strip_member(m) for name, m in value.items()}
        elif key in ("input", "output"):
            value = {"target": value["target"]}
        elif key == "errors":
            value = sorted(({"target": e["target"]} for e in value), key=lambda e: e["target"])
        out[key] = value
    traits = strip_traits(shape.get("traits", {}), KEPT_TRAITS)
    if traits:
        out["traits"] = traits
    return out


def find_service(shapes):
    services = [(sid, s) for sid, s in shapes.items() if s.get("type") == "service"]
    if len(services) != 1:
        raise ModelError(f"expected exactly one service shape, found {len(services)}")
    return services[0]


def strip(model):
    shapes = model.get("shapes")
    if not isinstance(shapes, dict):
        raise ModelError("the model has no 'shapes' object; is this a Smithy JSON AST?")
    service_id, service = find_service(shapes)
    operations = sorted(sid for sid, s in shapes.items() if s.get("type") == "operation")
    out = {}
    for sid, shape in shapes.items():
        kind = shape.get("type")
        if kind == "resource":
            continue
        if kind == "service":
            stripped = {
                "type": "service",
                "version": shape.get("version", ""),
                "operations": [{"target": op} for op in operations],
            }
            if "errors" in shape:
                stripped["errors"] = strip_shape({"errors": shape["errors"]})["errors"]
            traits = strip_traits(shape.get("traits", {}), SERVICE_TRAITS)
            if traits:
                stripped["traits"] = traits
            out[sid] = stripped
        else:
            out[sid] = strip_shape(shape)
    return service_id, operations, out


def cross_check(botocore_path, service_id, operations):
    """Stops when the botocore model disagrees with the Smithy one."""
    botocore = json.loads(botocore_path.read_text(encoding="utf-8"))
    service_name = service_id.split("#", 1)[1]
    target_prefix = botocore.get("metadata", {}).get("targetPrefix")
    if target_prefix != service_name:
        raise ModelError(
            f"botocore targetPrefix {target_prefix!r} differs from the Smithy service "
            f"shape name {service_name!r}; awsJson1_0 derives X-Amz-Target from the latter")
    smithy_ops = {op.split("#", 1)[1] for op in operations}
    botocore_ops = set(botocore.get("operations", {}))
    if smithy_ops != botocore_ops:
        missing = sorted(smithy_ops ^ botocore_ops)
        raise ModelError(f"the Smithy and botocore models disagree on operations: {missing}")


def render(source_name, source_bytes, shapes):
    """Sorted keys, no spaces, one shape per line."""
    def dump(value):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    metadata = {
        "proton-vcr": {
            "generator": "scripts/strip-model.py",
            "source": source_name,
            "sourceSha256": hashlib.sha256(source_bytes).hexdigest(),
        }
    }
    lines = [f"{dump(sid)}:{dump(shapes[sid])}" for sid in sorted(shapes)]
    return ('{"metadata":' + dump(metadata) + ',"shapes":{\n'
            + ",\n".join(lines) + '\n},"smithy":"2.0"}\n')


def build(models_dir):
    smithy_path = models_dir / SMITHY_FILE
    try:
        source = smithy_path.read_bytes()
    except OSError as err:
        raise ModelError(f"cannot read {smithy_path}: {err.strerror}; "
                         "pass the folder holding it with --models") from err
    try:
        model = json.loads(source)
    except json.JSONDecodeError as err:
        raise ModelError(f"{smithy_path} is not JSON: {err}") from err
    service_id, operations, shapes = strip(model)
    botocore_path = models_dir / BOTOCORE_FILE
    if botocore_path.exists():
        cross_check(botocore_path, service_id, operations)
    return render(SMITHY_FILE, source, shapes)


def main(argv):
    parser = argparse.ArgumentParser(
        description="Strip the AWS Proton Smithy model to shapes, traits and constraints "
                    "and write the model proton-vcr embeds.")
    parser.add_argument(
        "--models", type=Path, required=True, metavar="DIR",
        help=f"folder holding {SMITHY_FILE} (and optionally {BOTOCORE_FILE}, used "
             "to cross-check operations and the target prefix)")
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, metavar="FILE",
        help="where to write the stripped model; default: src/model/proton.json")
    parser.add_argument(
        "--check", action="store_true",
        help="write nothing; exit 1 if FILE differs from what would be written")
    args = parser.parse_args(argv)

    try:
        text = build(args.models)
    except ModelError as err:
        print(f"strip-model: {err}", file=sys.stderr)
        return 2
    data = text.encode("utf-8")
    if args.check:
        try:
            current = args.output.read_bytes()
        except OSError as err:
            print(f"strip-model: cannot read {args.output}: {err.strerror}", file=sys.stderr)
            return 1
        if current != data:
            print(f"strip-model: {args.output} is out of date; run scripts/strip-model.py",
                  file=sys.stderr)
            return 1
        return 0
    args.output.write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
