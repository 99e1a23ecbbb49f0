#!/usr/bin/env python3
"""Check the reference scenarios and cassettes.

    python3 conformance/reference/check.py

Checks, for every cassette under cassettes/proton/ and its scenario under
conformance/scenarios/:
  * the file is canonical JSON (sorted keys, 2-space indent, trailing newline);
  * the cassette follows format v1 (lower-case header names, non-decreasing
    elapsed_ms starting at 0, UUID v4 request ids, awsJson1_0 request line);
  * error responses are 400 with `__type` and `message`, and a scenario step's
    expect_error names the error its interaction returns;
  * every scenario step maps onto the interactions in order: a `call` step to
    one interaction with the same operation and body, an `until` step to one or
    more such interactions of which only the last satisfies the condition;
  * evidence: every value a response holds (and its status and error type)
    is cited in the interaction's `expect.cite`, through its own path or an
    ancestor's; every `expect.paths` entry says why the evidence leaves it
    open, holds no value when it is "present with any value", and names an
    earlier step for identity; every scenario has a rule-under-test step whose
    `expect.rule` names the scenario's rule and operation (in a flow
    scenario, where each documented step tests its own operation, the
    step's operation);
  * the timeline: an in-progress state is only observed at most 1000 ms after
    the action that started it; a finished state (or the resource being gone
    after DELETE_IN_PROGRESS) only at least 30000 ms after it;
  * nothing that looks like AWS credentials appears anywhere.
"""

import glob
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IN_PROGRESS = {"REGISTRATION_IN_PROGRESS", "IN_PROGRESS", "CREATE_IN_PROGRESS", "DELETE_IN_PROGRESS"}
FINISHED = {"DRAFT", "SUCCEEDED", "ACTIVE"}
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
CREDENTIALS = re.compile(r"(AKIA|ASIA)[A-Z0-9]{12,}|authorization|x-amz-security-token|aws_secret_access_key",
                         re.IGNORECASE)
ARN_IN_MESSAGE = re.compile(r"(arn:aws:proton:\S+)$")


def canonical(obj):
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def statuses(obj, found):
    """Collect (arn, status) pairs from every object with an arn and a status."""
    if isinstance(obj, dict):
        status = obj.get("status", obj.get("deploymentStatus"))
        if "arn" in obj and isinstance(status, str):
            found.append((obj["arn"], status))
        for value in obj.values():
            statuses(value, found)
    elif isinstance(obj, list):
        for value in obj:
            statuses(value, found)
    return found


def lookup(obj, path):
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def leaves(value, path="$"):
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}")
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            yield from leaves(item, f"{path}[{i}]")
    else:
        yield path


def ancestors(path):
    """`$.a.b[0].c`, then `$.a.b[0]`, `$.a.b`, `$.a`, `$`."""
    out = [path]
    while path != "$":
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else "$"
        out.append(path)
    return out


def lookup_path(value, path):
    for key, index in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path[1:]):
        if key:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        else:
            if not isinstance(value, list) or int(index) >= len(value):
                return None
            value = value[int(index)]
    return value


def check_evidence(n, it, resp, body, scenario, fail):
    expect = it.get("expect")
    if not isinstance(expect, dict):
        fail(f"interaction {n}: no expect block")
        return
    unknown = set(expect) - {"cite", "paths", "rule"}
    if unknown:
        fail(f"interaction {n}: unknown expect members {sorted(unknown)}")
    cites = expect.get("cite", {})
    for path, source in cites.items():
        if not isinstance(source, str) or not source.startswith("https://"):
            fail(f"interaction {n}: citation of {path} is not a public source: {source!r}")
    if "status" not in cites:
        fail(f"interaction {n}: status is asserted but not cited")
    if resp["status"] != 200 and "error" not in cites:
        fail(f"interaction {n}: error type is asserted but not cited")
    paths = expect.get("paths", {})
    for leaf in leaves(body):
        if leaf == "$.__type":
            continue
        if not any(a in cites for a in ancestors(leaf)):
            fail(f"interaction {n}: {leaf} is asserted but not cited")
    for path, spec in paths.items():
        if spec.get("presence") not in ("required", "optional"):
            fail(f"interaction {n}: {path}: presence must be required or optional")
        if not str(spec.get("why", "")).strip():
            fail(f"interaction {n}: {path}: no reason why the evidence leaves it open")
        if spec.get("presence") == "required" and lookup_path(body, path) is not None:
            fail(f"interaction {n}: {path} is 'present with any value' but the body holds a value")
        for key in ("same_as", "differs_from"):
            if key in spec and not (isinstance(spec[key], int) and 1 <= spec[key] <= n):
                fail(f"interaction {n}: {path}: {key} must name an earlier step (1..{n})")
        if set(spec) - {"presence", "why", "same_as", "differs_from"}:
            fail(f"interaction {n}: {path}: unknown members {sorted(set(spec) - {'presence', 'why', 'same_as', 'differs_from'})}")
    rule = expect.get("rule")
    if rule is not None:
        own = it["request"]["headers"].get("x-amz-target", "").split(".")[-1]
        if rule.get("id") != f"{scenario['group']}/{scenario['rule']}" or \
                rule.get("operation") not in (scenario["operation"], own):
            fail(f"interaction {n}: the rule block does not name the scenario's rule, and its operation or the step's")
        if rule.get("role") not in ("under-test", "check") or not rule.get("paths"):
            fail(f"interaction {n}: the rule block needs a role (under-test or check) and paths")


def check_pair(scenario_path, cassette_path, problems):
    def fail(msg):
        problems.append(f"{os.path.relpath(cassette_path, ROOT)}: {msg}")

    texts = {}
    for path in (scenario_path, cassette_path):
        with open(path, "r", encoding="utf-8") as fh:
            texts[path] = fh.read()
        if CREDENTIALS.search(texts[path]):
            fail(f"{os.path.relpath(path, ROOT)} contains something that looks like a credential")
    scenario = json.loads(texts[scenario_path])
    cassette = json.loads(texts[cassette_path])
    for path, obj in ((scenario_path, scenario), (cassette_path, cassette)):
        if canonical(obj) != texts[path]:
            fail(f"{os.path.relpath(path, ROOT)} is not canonical JSON")

    rel = os.path.relpath(cassette_path, os.path.join(ROOT, "cassettes", "proton"))[:-len(".json")]
    if cassette.get("format") != "proton-vcr.cassette/2" or cassette.get("name") != rel:
        fail("format or name")
    if scenario.get("format") != "proton-vcr.scenario/1" or scenario.get("name") != rel:
        fail("scenario format or name")
    if scenario["sources"] != cassette["provenance"]["sources"]:
        fail("scenario and cassette sources differ")
    if cassette["provenance"].get("kind") != "documented":
        fail("provenance kind")

    interactions = cassette["interactions"]
    last = None
    for n, it in enumerate(interactions):
        if n == 0 and it["elapsed_ms"] != 0:
            fail("first elapsed_ms is not 0")
        if last is not None and it["elapsed_ms"] < last:
            fail(f"interaction {n}: elapsed_ms goes backwards")
        last = it["elapsed_ms"]
        for part in ("request", "response"):
            for name in it[part]["headers"]:
                if name != name.lower():
                    fail(f"interaction {n}: header {name} not lower-case")
        req, resp = it["request"], it["response"]
        if req["method"] != "POST" or req["uri"] != "/" or \
                req["headers"].get("content-type") != "application/x-amz-json-1.0" or \
                not req["headers"].get("x-amz-target", "").startswith("AwsProton20200720."):
            fail(f"interaction {n}: request line or headers")
        if not UUID4.match(resp["headers"].get("x-amzn-requestid", "")):
            fail(f"interaction {n}: x-amzn-requestid is not a UUID v4")
        body = resp.get("body", {}).get("json")
        if resp["status"] != 200:
            declared = set(it.get("expect", {}).get("paths", {}))
            members = set(body) | ({"message"} if "$.message" in declared else set())
            if resp["status"] != 400 or members != {"__type", "message"} or \
                    not body["__type"].startswith("com.amazonaws.proton.v20200720#"):
                fail(f"interaction {n}: error response shape")
        check_evidence(n, it, resp, body, scenario, fail)
    if not any(it.get("expect", {}).get("rule", {}).get("role") == "under-test" for it in interactions):
        fail("no interaction is marked as the rule under test")
    if scenario.get("rule_id") != f"{scenario.get('group')}/{scenario.get('rule')}":
        fail("the scenario's rule_id is not <group>/<rule>")
    if not any(step.get("rule") == "under-test" for step in scenario["steps"]):
        fail("no scenario step is marked as the rule under test")

    # scenario steps -> interactions
    i = 0
    for k, step in enumerate(scenario["steps"]):
        if "wait_ms" in step:
            continue
        op = step["call"]
        matched = []
        while i < len(interactions):
            it = interactions[i]
            if it["request"]["headers"]["x-amz-target"] != f"AwsProton20200720.{op}" or \
                    it["request"]["body"]["json"] != step["input"]:
                break
            matched.append(it)
            i += 1
            if "until" not in step:
                break
        if not matched:
            fail(f"step {k} ({op}) has no interaction")
            return
        if "until" in step:
            values = step["until"]["in"]
            results = [lookup(m["response"]["body"]["json"], step["until"]["path"]) in values for m in matched]
            if not results[-1] or any(results[:-1]):
                fail(f"step {k} ({op}): only the last poll may satisfy the condition")
        role = matched[-1].get("expect", {}).get("rule", {}).get("role")
        if step.get("rule") != role:
            fail(f"step {k} ({op}): rule {step.get('rule')!r}, its interaction's expect.rule role {role!r}")
        err = step.get("expect_error")
        got = matched[-1]["response"]["body"]["json"].get("__type", "").split("#")[-1] or None
        if err != got:
            fail(f"step {k} ({op}): expect_error {err!r}, interaction returns {got!r}")
    if i != len(interactions):
        fail(f"{len(interactions) - i} interactions are not matched by scenario steps")

    # timeline
    state = {}  # arn -> (status, elapsed_ms of the action that started it)
    for n, it in enumerate(interactions):
        t = it["elapsed_ms"]
        body = it["response"]["body"]["json"]
        if it["response"]["status"] == 400:
            m = ARN_IN_MESSAGE.search(body.get("message", ""))
            if m and body["__type"].endswith("#ResourceNotFoundException") and m.group(1) in state:
                prev, since = state[m.group(1)]
                if prev == "DELETE_IN_PROGRESS" and t - since < 30000:
                    fail(f"interaction {n}: gone only {t - since} ms after the delete started")
            continue
        for resource, status in statuses(body, []):
            prev, since = state.get(resource, (None, None))
            if status != prev:
                if status in IN_PROGRESS:
                    since = t
                elif status in FINISHED and prev in IN_PROGRESS and t - since < 30000:
                    fail(f"interaction {n}: {resource} {status} only {t - since} ms after the action")
                state[resource] = (status, since if status in IN_PROGRESS else t)
            elif status in IN_PROGRESS and t - since > 1000:
                fail(f"interaction {n}: {resource} still {status} {t - since} ms after the action")


def main():
    problems = []
    cassettes = sorted(glob.glob(os.path.join(ROOT, "cassettes", "proton", "*", "*.json")))
    scenarios = sorted(glob.glob(os.path.join(ROOT, "conformance", "scenarios", "*", "*.json")))
    rel_c = {os.path.relpath(p, os.path.join(ROOT, "cassettes", "proton")) for p in cassettes}
    rel_s = {os.path.relpath(p, os.path.join(ROOT, "conformance", "scenarios")) for p in scenarios}
    for missing in sorted(rel_c ^ rel_s):
        problems.append(f"{missing}: scenario or cassette missing")
    for rel in sorted(rel_c & rel_s):
        check_pair(os.path.join(ROOT, "conformance", "scenarios", rel),
                   os.path.join(ROOT, "cassettes", "proton", rel), problems)
    for p in problems:
        print(p, file=sys.stderr)
    print(f"{len(rel_c & rel_s)} scenario/cassette pairs checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
