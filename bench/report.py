"""Turns a run's raw figures (bench/out) into results.json, the markdown
tables and the targets, and optionally writes the tables into BENCHMARKS.md
between its markers.

usage: python3 report.py OUT_DIR [--write BENCHMARKS.md] [--check]

--check (the CI variant): exits 1 unless every section that was not skipped
produced figures, and every proton-vcr server (and the ceiling) answered every
request under load with a 2xx and no socket error. Speeds are not checked.
"""

import json
import os
import statistics
import sys

BEGIN = "<!-- bench:results:begin -->"
END = "<!-- bench:results:end -->"
OURS = {"proton-vcr", "proton-vcr-mock", "proton-vcr-record", "ceiling", "direct", "forward-ceiling"}


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_json(path, default):
    if not os.path.exists(path):
        return default
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def aggregate(rounds):
    """One point per section, server and connection count: the median of
    each figure over its rounds, with the spread of throughput."""
    groups = {}
    for p in rounds:
        groups.setdefault((p["section"], p["server"], p["connections"]), []).append(p)
    out = []
    for (section, server, conns), ps in groups.items():
        rps = sorted(p["rps"] for p in ps)
        out.append({
            "section": section, "server": server, "connections": conns, "rounds": len(ps),
            "rps": statistics.median(rps), "rps_min": rps[0], "rps_max": rps[-1],
            "p50_us": statistics.median(p["p50_us"] for p in ps),
            "p99_us": statistics.median(p["p99_us"] for p in ps),
            "requests": sum(p["requests"] for p in ps),
            "server_cpu_s": sum(p["server_cpu_s"] for p in ps),
            "socket_errors": sum(p["socket_errors"] for p in ps),
            "non_2xx": sum(p["non_2xx"] for p in ps),
        })
    return out


def point(points, section, server, conns):
    for p in points:
        if (p["section"], p["server"], p["connections"]) == (section, server, conns):
            return p
    return None


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(value, spec):
    return "n/a" if value is None else format(value, spec)


def scale_ratios(scale):
    """(call, ratio largest/smallest size) for each call mock_scale timed, in its order."""
    if not scale:
        return []
    ratios = scale.get("ratio_large_over_small", {})
    return [(op, ratios[op]) for op in scale.get("operations", sorted(ratios)) if op in ratios]


def targets(points, cassettes, conformance, flat=None, scale=None):
    """Each target: what, the bound, the measured value, met (None = not measured)."""
    out = []

    def add(name, bound, measured, ok):
        out.append({"target": name, "bound": bound, "measured": measured,
                    "met": None if measured is None else bool(ok(measured))})

    ours = point(points, "replay", "proton-vcr", 64)
    ceiling = point(points, "replay", "ceiling", 64)
    wiremock = point(points, "replay", "wiremock", 64)
    add("replay, 64 connections: throughput vs the ceiling", ">= 0.85x",
        ratio(ours and ours["rps"], ceiling and ceiling["rps"]), lambda r: r >= 0.85)
    cpu = lambda p: p and p["requests"] and p["server_cpu_s"] / p["requests"]
    add("replay, 64 connections: server CPU per request vs the ceiling", "<= 1.2x",
        ratio(cpu(ours), cpu(ceiling)), lambda r: r <= 1.2)
    add("replay, 64 connections: throughput vs WireMock", ">= 10x",
        ratio(ours and ours["rps"], wiremock and wiremock["rps"]), lambda r: r >= 10)
    add("replay, 64 connections: p99 latency (ms)", "<= 2 ms",
        ours and ours["p99_us"] / 1e3, lambda v: v <= 2)
    mock = point(points, "mock", "proton-vcr-mock", 64)
    mock_ceiling = point(points, "mock", "ceiling", 64)
    add("mock, 64 connections: throughput on the mix vs the ceiling", ">= 0.6x",
        ratio(mock and mock["rps"], mock_ceiling and mock_ceiling["rps"]), lambda r: r >= 0.6)
    sizes = (scale or {}).get("sizes") or [None, None]
    for op, r in scale_ratios(scale):
        add(f"mock: cost per call at {sizes[-1]:,} / at {sizes[0]:,} versions and instances, {op}",
            "flat (<= 1.2x)", r, lambda v: v <= 1.2)
    if not scale:
        add("mock: cost per call at 10,000 / at 10 versions and instances", "flat (<= 1.2x)",
            None, lambda v: True)
    proxied = point(points, "record", "proton-vcr-record", 1)
    direct = point(points, "record", "direct", 1)
    add("record proxy, 1 connection: median latency added (ms)", "<= 1 ms",
        None if not (proxied and direct) else (proxied["p50_us"] - direct["p50_us"]) / 1e3,
        lambda v: v <= 1)
    proxied16 = point(points, "record", "proton-vcr-record", 16)
    direct16 = point(points, "record", "direct", 16)
    add("record proxy, 16 connections: throughput vs the upstream direct", ">= 0.25x",
        ratio(proxied16 and proxied16["rps"], direct16 and direct16["rps"]), lambda r: r >= 0.25)
    forward16 = point(points, "record", "forward-ceiling", 16)
    add("forwarding alone (no signing, recording or flush), 16 connections: throughput vs the upstream direct",
        "measured", ratio(forward16 and forward16["rps"], direct16 and direct16["rps"]), lambda r: True)
    add("record proxy, 16 connections: throughput vs forwarding alone", "measured",
        ratio(proxied16 and proxied16["rps"], forward16 and forward16["rps"]), lambda r: True)
    add("record proxy, 1 connection: calls 10,000-11,000 vs the first 1,000 (flat cost)", ">= 0.8x",
        ratio(flat.get("late_rps"), flat.get("first_rps")) if flat else None, lambda r: r >= 0.8)
    add("one append + fdatasync of 1 KiB here (µs, for reading the latency)", "measured",
        flat.get("fsync_us") if flat else None, lambda v: True)
    # The proxy's own share of the added latency: every answer waits for one
    # journal flush, which on a shared disk can alone exceed the bound.
    add("record proxy, 1 connection: median latency added less that one fdatasync (ms)", "measured",
        None if not (proxied and direct and flat and flat.get("fsync_us") is not None)
        else (proxied["p50_us"] - direct["p50_us"] - flat["fsync_us"]) / 1e3, lambda v: True)
    by_size = {c["interactions"]: c for c in cassettes}
    big = by_size.get(100_000)
    add("cassette, 100k interactions: ready (load + index) vs Python json.load", "<= 0.3x",
        big and big.get("python_json_load_ms") and (big["load_ms"] + big["index_ms"]) / big["python_json_load_ms"],
        lambda v: v <= 0.3)
    add("cassette, 100k interactions: peak memory / file size", "<= 1.5x",
        big and big["peak_kib"] * 1024 / big["file_bytes"], lambda v: v <= 1.5)
    small = by_size.get(1_000)
    add("cassette: matching cost at 100k / at 1k, requests spread through it", "flat (<= 1.5x)",
        ratio(big and big["match_ns"], small and small["match_ns"]), lambda r: r <= 1.5)
    add("cassette: matching cost at 100k / at 1k, one request", "flat (<= 1.5x)",
        ratio(big and big["match_one_ns"], small and small["match_one_ns"]), lambda r: r <= 1.5)
    add("conformance: steps per second against the built-in mock", ">= 5000",
        conformance.get("steps_per_s") if conformance else None, lambda v: v >= 5000)
    return out


def load_table(points, section, title, baseline):
    rows = [p for p in points if p["section"] == section]
    if not rows:
        return []
    lines = [f"### {title}", "",
             f"| connections | server | requests/s (rounds' range) | p50 ms | p99 ms | x {baseline} | server CPU µs/request | errors |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for p in rows:
        base = point(points, section, baseline, p["connections"])
        errors = p["socket_errors"] + p["non_2xx"]
        cpu = p["server_cpu_s"] * 1e6 / p["requests"] if p["requests"] else None
        spread = "" if p["rounds"] < 2 else " ({:,.0f}–{:,.0f})".format(p["rps_min"], p["rps_max"])
        lines.append("| {} | {} | {:,.0f}{} | {:.3f} | {:.3f} | {} | {} | {} |".format(
            p["connections"], p["server"], p["rps"], spread, p["p50_us"] / 1e3, p["p99_us"] / 1e3,
            fmt(ratio(p["rps"], base and base["rps"]), ".2f"), fmt(cpu, ".1f"), errors))
    return lines + [""]


def markdown(results):
    m = results["machine"]
    points = results["points"]
    wrk = (m.get("wrk") or "wrk").split(" [")[0].replace("debian/", "")
    lines = [
        f"Run: `{'bench/run --tiny' if m.get('mode') == 'tiny' else 'bench/run'}`, "
        f"{m.get('rounds')} rounds of {m.get('seconds_per_point')} s per point (medians shown); "
        f"{m.get('nproc')} cores ({m.get('cpu')}), "
        f"{m.get('memory_gib')} GiB, Linux {m.get('kernel')}, {m.get('rustc')}, {wrk}, {m.get('java')}.",
        "",
    ]
    lines += load_table(points, "replay",
                        "Replay server: one GetEnvironment call, `--repeats last`", "ceiling")
    lines += load_table(points, "mock",
                        "Mock: Get / List / create and its token retry", "ceiling")
    lines += load_table(points, "record",
                        "Record proxy against calling the HTTPS upstream directly", "direct")
    if results["cassettes"]:
        lines += ["### Cassettes", "",
                  "| interactions | file MiB | load ms | index ms | Python json.load ms | peak MiB | peak / file | held MiB | match µs (spread) | match µs (one request) |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for c in results["cassettes"]:
            lines.append("| {:,} | {:.1f} | {:.0f} | {:.0f} | {} | {:.1f} | {:.2f} | {:.1f} | {:.2f} | {:.2f} |".format(
                c["interactions"], c["file_bytes"] / 2**20, c["load_ms"], c["index_ms"],
                fmt(c.get("python_json_load_ms"), ".0f"),
                c["peak_kib"] / 1024, c["peak_kib"] * 1024 / c["file_bytes"],
                c["held_kib"] / 1024, c["match_ns"] / 1e3, c["match_one_ns"] / 1e3))
        lines.append("")
    flat = results.get("record_flat")
    if flat:
        lines += ["### Recording cost as the cassette grows (1 connection, calls in a row)", "",
                  "| calls | first {:,}: calls/s | calls {:,}-{:,}: calls/s | ratio | one append + fdatasync µs |".format(
                      flat.get("window", 1000), flat["late_from"], flat["late_from"] + flat.get("window", 1000)),
                  "|---:|---:|---:|---:|---:|",
                  "| {:,} | {:,.0f} | {:,.0f} | {:.2f} | {:.0f} |".format(
                      flat["count"], flat["first_rps"], flat["late_rps"],
                      flat["late_rps"] / flat["first_rps"], flat["fsync_us"]), ""]
    scale = results.get("mock_scale")
    if scale:
        sizes = scale["sizes"]
        by_size = scale["ns_per_call"]
        lines += ["### Mock: cost per call as its state grows (in-process, CPU time)", "",
                  "Median of {} passes of {:,} calls, passes alternating between the sizes; "
                  "one template with N versions and N service instances (10 to a service).".format(
                      scale["passes"], scale["calls"]), "",
                  "| call | " + " | ".join(f"µs/call at {n:,}" for n in sizes) + " | ratio | flat (<= 1.2x) |",
                  "|---|" + "---:|" * len(sizes) + "---:|---|"]
        for op, r in scale_ratios(scale):
            lines.append("| {} | {} | {:.2f} | {} |".format(
                op, " | ".join(fmt(by_size[str(n)].get(op, 0) / 1e3, ".1f") for n in sizes), r,
                "yes" if r <= 1.2 else "**no**"))
        lines.append("")
    plateau = results.get("mock_plateau")
    if plateau:
        sizes = plateau["sizes"]
        by_size = plateau["ns_per_call"]
        lines += ["Past the caches: the same calls in a run of their own, {:,} against {:,} "
                  "(median of {} passes); no bound, it shows whether the cost goes on growing.".format(
                      sizes[-1], sizes[0], plateau["passes"]), "",
                  "| call | " + " | ".join(f"µs/call at {n:,}" for n in sizes) + " | ratio |",
                  "|---|" + "---:|" * len(sizes) + "---:|"]
        for op, r in scale_ratios(plateau):
            lines.append("| {} | {} | {:.2f} |".format(
                op, " | ".join(fmt(by_size[str(n)].get(op, 0) / 1e3, ".1f") for n in sizes), r))
        lines.append("")
    conf = results["conformance"]
    if conf:
        lines += ["### Conformance against the built-in mock", "",
                  "| passes over the shipped cassettes | cassettes | steps | seconds (one process) | steps/s |",
                  "|---:|---:|---:|---:|---:|",
                  "| {} | {} | {:,} | {:.2f} | {:,.0f} |".format(
                      conf["passes"], conf["cassettes"], conf["steps"], conf["seconds"], conf["steps_per_s"]), ""]
    if m.get("mode") == "tiny":
        lines += ["Tiny run (debug build, one second per point): it shows that every section",
                  "runs and answers right; its figures are not speeds, and no target is judged."]
        targets_shown = []
    else:
        lines += ["### Targets", "", "| target | bound | measured | met |", "|---|---|---:|---|"]
        targets_shown = results["targets"]
    for t in targets_shown:
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        lines.append(f"| {t['target']} | {t['bound']} | {fmt(t['measured'], '.3g')} | {met} |")
    if results["skipped"]:
        lines += ["", "Skipped:", ""]
        lines += [f"- {s['section']} / {s['name']}: {s['reason']}" for s in results["skipped"]]
    return "\n".join(lines) + "\n"


def check(results, out_dir):
    problems = []
    for p in results["points"]:
        if p["requests"] == 0:
            problems.append(f"{p['section']}/{p['server']} at {p['connections']}: no request completed")
        elif p["server"] in OURS and (p["socket_errors"] or p["non_2xx"]):
            problems.append(f"{p['section']}/{p['server']} at {p['connections']}: "
                            f"{p['socket_errors']} socket errors, {p['non_2xx']} non-2xx answers")
    skipped = {s["section"] for s in results["skipped"] if s["name"] == s["section"]}
    if "replay" not in skipped and not any(p["section"] == "replay" for p in results["points"]):
        problems.append("replay: no figures")
    if "cassettes" not in skipped and not results["cassettes"]:
        problems.append("cassettes: no figures")
    if "mock-scale" not in skipped and not scale_ratios(results["mock_scale"]):
        problems.append("mock-scale: no figures")
    if "mock-scale" not in skipped and not scale_ratios(results["mock_plateau"]):
        problems.append("mock-scale: no figures past the caches")
    return problems


def main():
    args = sys.argv[1:]
    out_dir = args[0]
    write = args[args.index("--write") + 1] if "--write" in args else None
    cassettes = read_json(os.path.join(out_dir, "cassettes.json"), {}).get("cassettes", [])
    conformance = read_json(os.path.join(out_dir, "conformance.json"), None)
    flat = read_json(os.path.join(out_dir, "record_flat.json"), None)
    scale = read_json(os.path.join(out_dir, "mock_scale.json"), None)
    plateau = read_json(os.path.join(out_dir, "mock_plateau.json"), None)
    rounds = read_jsonl(os.path.join(out_dir, "points.jsonl"))
    points = aggregate(rounds)
    results = {
        "machine": read_json(os.path.join(out_dir, "machine.json"), {}),
        "points": points,
        "rounds": rounds,
        "cassettes": cassettes,
        "conformance": conformance,
        "record_flat": flat,
        "mock_scale": scale,
        "mock_plateau": plateau,
        "skipped": read_jsonl(os.path.join(out_dir, "skipped.jsonl")),
        "targets": targets(points, cassettes, conformance, flat, scale),
    }
    with open(os.path.join(out_dir, "results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    table = markdown(results)
    print(table)
    if write:
        with open(write, encoding="utf-8") as f:
            text = f.read()
        if BEGIN not in text or END not in text:
            sys.exit(f"{write} has no {BEGIN} ... {END} markers to write between")
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        with open(write, "w", encoding="utf-8") as f:
            f.write(f"{head}{BEGIN}\n{table}{END}{tail}")
    if "--check" in args:
        problems = check(results, out_dir)
        for p in problems:
            print(f"check: {p}", file=sys.stderr)
        if problems:
            sys.exit(1)
        print("check: every section ran and every answer under load was right", file=sys.stderr)


if __name__ == "__main__":
    main()
