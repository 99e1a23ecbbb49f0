#!/usr/bin/env python3
"""Generate src/services/facts.txt, the service facts table the binary embeds.

Reads botocore's data directory (the installed botocore, or --botocore-data):
every service's newest service-2.json(.gz) and endpoints.json. Writes one
line-oriented, tab-separated text file with, per service: signing name,
endpoint prefix, protocols, JSON target prefix, endpoint overrides per
partition, and per operation: HTTP method and URI (rest protocols only),
idempotency-token members, header- and query-bound input members, and the
paths of sensitive members in inputs and outputs.

Line kinds (the Rust parser in src/services/table.rs documents the same):

  P  partition  dnsSuffix  regionRegex  hostnameTemplate  regions(,)
  S  name  signingName  endpointPrefix  protocols(,)  targetPrefix  apiVersion
  G  partition  hostname  signingRegion          (service is global there)
  D  partition  hostnameTemplate                 (service's own template)
  X  partition  region  hostname  signingRegion  (one region differs)
  O  operation  method  uri                      (method/uri '-' for RPC)
  T  tokenLocation                              ($.Member | header:Name | query:name)
  H  member  headerName  required|-  role        (headerName* = prefix map)
  Q  member  queryName  required|-
  I  sensitiveInputPath   shapeType              (string, blob, structure...)
  R  sensitiveOutputPath  shapeType

An H line's role says what the member is for, as the model tells it:
`token` (an idempotency token), `checksum` (a digest of the body, or the
choice of one: the httpChecksum trait's algorithm member, members of the
same shape, and members bound to a digest header such as
x-amz-checksum-crc32 or Content-MD5; not the validation mode member,
x-amz-checksum-mode, or members of its shape, which ask for checksums
back), `-` for any other.

Paths start at the input or output body: `$.Credentials.SecretAccessKey`,
lists as `[*]`, map values as `.*`, using wire names (locationName).
Deterministic: same botocore, same bytes. Python 3 standard library only.
"""

import argparse
import gzip
import json
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "src" / "services" / "facts.txt"
MAX_DEPTH = 12


def botocore_data():
    import botocore  # noqa: PLC0415 -- only needed when no path is given

    return Path(os.path.dirname(botocore.__file__)) / "data"


def load_json(path):
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return json.load(f)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def newest_model(service_dir):
    versions = sorted(p for p in service_dir.iterdir() if p.is_dir())
    for version in reversed(versions):
        for name in ("service-2.json.gz", "service-2.json"):
            candidate = version / name
            if candidate.exists():
                return candidate
    return None


def clean(text):
    if text is None or text == "":
        return "-"
    if "\t" in text or "\n" in text:
        raise SystemExit(f"unexpected tab or newline in {text!r}")
    return text


def wire_name(name, ref):
    return ref.get("locationName", name)


def sensitive_paths(shapes, shape_name, path, stack, out, depth=0):
    """Append the paths below `path` whose shape is sensitive."""
    shape = shapes.get(shape_name)
    if shape is None or depth > MAX_DEPTH or shape_name in stack:
        return
    stack = stack | {shape_name}
    kind = shape.get("type")
    if kind == "structure":
        for name, ref in sorted(shape.get("members", {}).items()):
            if ref.get("location") in ("header", "headers", "uri", "querystring", "statusCode"):
                target = f"{path}.{name}"
            else:
                target = f"{path}.{wire_name(name, ref)}"
            member_shape = shapes.get(ref["shape"], {})
            if ref.get("sensitive") or member_shape.get("sensitive"):
                out.append((target, member_shape.get("type", "-")))
            else:
                sensitive_paths(shapes, ref["shape"], target, stack, out, depth + 1)
    elif kind == "list":
        ref = shape["member"]
        target = f"{path}[*]"
        if ref.get("sensitive") or shapes.get(ref["shape"], {}).get("sensitive"):
            out.append((target, shapes.get(ref["shape"], {}).get("type", "-")))
        else:
            sensitive_paths(shapes, ref["shape"], target, stack, out, depth + 1)
    elif kind == "map":
        ref = shape["value"]
        target = f"{path}.*"
        if ref.get("sensitive") or shapes.get(ref["shape"], {}).get("sensitive"):
            out.append((target, shapes.get(ref["shape"], {}).get("type", "-")))
        else:
            sensitive_paths(shapes, ref["shape"], target, stack, out, depth + 1)


def top_sensitive(shapes, shape_name):
    """Sensitive paths of an input or output shape (the shape itself: `$`)."""
    if shape_name is None:
        return []
    if shapes.get(shape_name, {}).get("sensitive"):
        return [("$", shapes[shape_name].get("type", "-"))]
    out = []
    sensitive_paths(shapes, shape_name, "$", frozenset(), out)
    return sorted(set(out))


DIGEST_HEADERS = ("content-md5", "x-amz-content-sha256", "x-amz-sha256-tree-hash")


def checksum_trait_shapes(model, trait):
    """Shapes of the members an httpChecksum trait names (`trait`:
    requestAlgorithmMember or requestValidationModeMember)."""
    found = set()
    for op in model["operations"].values():
        member = op.get("httpChecksum", {}).get(trait)
        input_name = op.get("input", {}).get("shape")
        if member and input_name:
            ref = model["shapes"].get(input_name, {}).get("members", {}).get(member)
            if ref:
                found.add(ref["shape"])
    return found


def header_role(op, name, ref, algorithms, modes):
    """What a header-bound input member is for (see the module docs)."""
    if ref.get("idempotencyToken"):
        return "token"
    checksum = op.get("httpChecksum", {})
    if name == checksum.get("requestValidationModeMember") or ref["shape"] in modes:
        return "-"
    header = ref.get("locationName", name).lower()
    if (
        name == checksum.get("requestAlgorithmMember")
        or ref["shape"] in algorithms
        or header.startswith("x-amz-checksum")
        or header in DIGEST_HEADERS
    ):
        return "checksum"
    return "-"


def operation_lines(model, rest):
    shapes = model["shapes"]
    algorithms = checksum_trait_shapes(model, "requestAlgorithmMember")
    modes = checksum_trait_shapes(model, "requestValidationModeMember")
    lines = []
    for op_name, op in sorted(model["operations"].items()):
        http = op.get("http", {})
        if rest:
            lines.append(f"O\t{op_name}\t{clean(http.get('method'))}\t{clean(http.get('requestUri'))}")
        else:
            lines.append(f"O\t{op_name}\t-\t-")
        input_name = op.get("input", {}).get("shape")
        output_name = op.get("output", {}).get("shape")
        input_shape = shapes.get(input_name, {}) if input_name else {}
        for name, ref in sorted(input_shape.get("members", {}).items()):
            location = ref.get("location")
            if ref.get("idempotencyToken"):
                if location == "header":
                    lines.append(f"T\theader:{ref.get('locationName', name)}")
                elif location == "querystring":
                    lines.append(f"T\tquery:{ref.get('locationName', name)}")
                elif location is None:
                    lines.append(f"T\t$.{wire_name(name, ref)}")
            if location == "header":
                required = "required" if name in input_shape.get("required", []) else "-"
                role = header_role(op, name, ref, algorithms, modes)
                lines.append(f"H\t{name}\t{clean(ref.get('locationName', name))}\t{required}\t{role}")
            elif location == "headers":
                lines.append(f"H\t{name}\t{clean(ref.get('locationName', ''))}*\t-\t-")
            elif location == "querystring":
                required = "required" if name in input_shape.get("required", []) else "-"
                lines.append(f"Q\t{name}\t{clean(ref.get('locationName', name))}\t{required}")
        for path, kind in top_sensitive(shapes, input_name):
            lines.append(f"I\t{path}\t{kind}")
        for path, kind in top_sensitive(shapes, output_name):
            lines.append(f"R\t{path}\t{kind}")
    return lines


def partition_lines(endpoints):
    lines = []
    for part in endpoints["partitions"]:
        lines.append(
            "\t".join(
                [
                    "P",
                    part["partition"],
                    part["dnsSuffix"],
                    part["regionRegex"],
                    part["defaults"]["hostname"],
                    ",".join(sorted(part["regions"])),
                ]
            )
        )
    return lines


def endpoint_lines(endpoints, prefix):
    lines = []
    for part in endpoints["partitions"]:
        service = part["services"].get(prefix)
        if service is None:
            continue
        name = part["partition"]
        suffix = part["dnsSuffix"]
        template = service.get("defaults", {}).get("hostname", part["defaults"]["hostname"])
        if template != part["defaults"]["hostname"]:
            lines.append(f"D\t{name}\t{template}")
        eps = service.get("endpoints", {})
        if service.get("isRegionalized") is False and service.get("partitionEndpoint") in eps:
            ep = eps[service["partitionEndpoint"]]
            host = ep.get("hostname") or template.replace("{service}", prefix).replace(
                "{region}", service["partitionEndpoint"]
            ).replace("{dnsSuffix}", suffix)
            region = ep.get("credentialScope", {}).get("region", "-")
            lines.append(f"G\t{name}\t{host}\t{region}")
            continue
        for region, ep in sorted(eps.items()):
            if region not in part["regions"] or ep.get("deprecated"):
                continue
            default_host = (
                template.replace("{service}", prefix).replace("{region}", region).replace("{dnsSuffix}", suffix)
            )
            host = ep.get("hostname", default_host)
            scope = ep.get("credentialScope", {}).get("region", region)
            if host != default_host or scope != region:
                lines.append(f"X\t{name}\t{region}\t{host}\t{scope}")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--botocore-data", type=Path, help="botocore's data directory")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    data = args.botocore_data or botocore_data()
    endpoints = load_json(data / "endpoints.json")
    out = [
        "# Service facts generated by scripts/gen-service-facts.py from botocore data.",
        "# Do not edit; rerun the script. Line kinds are described in the script.",
    ]
    out.extend(partition_lines(endpoints))
    count = 0
    for service_dir in sorted(p for p in data.iterdir() if p.is_dir()):
        model_path = newest_model(service_dir)
        if model_path is None:
            continue
        model = load_json(model_path)
        md = model["metadata"]
        protocols = md.get("protocols") or [md["protocol"]]
        prefix = md["endpointPrefix"]
        out.append(
            "\t".join(
                [
                    "S",
                    service_dir.name,
                    clean(md.get("signingName", prefix)),
                    clean(prefix),
                    ",".join(protocols),
                    clean(md.get("targetPrefix")),
                    clean(md.get("apiVersion")),
                ]
            )
        )
        out.extend(endpoint_lines(endpoints, prefix))
        rest = protocols[0] in ("rest-json", "rest-xml")
        out.extend(operation_lines(model, rest))
        count += 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"{count} services -> {args.output} ({args.output.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
