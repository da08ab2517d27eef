"""The benchmark report: reads the JSON files scripts/bench wrote, writes report.md and PNG plots.

Every figure stands beside the limit it is judged against, both taken in the same run, and each
target of the benchmark issue is checked here, once, so that the table and the verdict agree.
Usage: python bench/report.py --dir target/bench --machine TEXT --command TEXT --seconds N
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HYBRID_THRESHOLD = 10_000  # FANOUT_THRESHOLD's default
MIB = 1024 * 1024


def load(directory: Path, name: str) -> dict | None:
    path = directory / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def num(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


class Report:
    def __init__(self, directory: Path):
        self.dir = directory
        self.lines: list[str] = []
        self.targets: list[tuple[str, str, str, str]] = []  # what, measured, target, verdict

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def target(self, what: str, measured: str, wanted: str, ok: bool) -> None:
        self.targets.append((what, measured, wanted, verdict(ok)))

    def plot(self, fig, name: str, title: str) -> None:
        fig.tight_layout()
        fig.savefig(self.dir / f"{name}.png", dpi=110)
        plt.close(fig)
        self.add("", f"![{title}]({name}.png)")


def fanout(r: Report, data: dict | None) -> None:
    r.add("", "## 1. Fan-out: feed entries written per second")
    if data is None:
        return r.add("", "Not run.")
    redis = data["redis_zadd_per_sec"]
    rows = data["rows"]
    r.add(
        "",
        "One post pushed by `FanoutConsumer` to every follower's home feed in Redis (followers read "
        "from SQLite in chunks of 1,000, one Redis pipeline per chunk), median of the timed posts, "
        "every follower's feed checked afterwards. Beside it, in the same run, Redis' own rate: "
        f"`{data.get('redis_command', 'redis-benchmark ZADD')}`.",
        "",
        "| followers | pushed: fan-out (ms) | entries/s | ratio to Redis ZADD | production (hybrid, threshold 10,000): fan-out (ms) |",
        "|--:|--:|--:|--:|--:|",
    )
    for row in rows:
        hybrid = row.get("hybrid_ms")
        r.add(
            f"| {num(row['followers'])} | {num(row['fanout_ms'], 1)} | {num(row['entries_per_sec'])}"
            f" | {row['entries_per_sec'] / redis:.2f} | {'-' if hybrid is None else num(hybrid, 1)} |"
        )
    r.add("", f"Redis' pipelined ZADD on the same server: **{num(redis)}/s**.")
    best = max(rows, key=lambda row: row["followers"])
    ratio = best["entries_per_sec"] / redis
    r.target(
        f"fan-out to {num(best['followers'])} followers vs Redis ZADD",
        f"{num(best['entries_per_sec'])}/s = {ratio:.2f}x",
        ">= 0.6x",
        ratio >= 0.6,
    )
    fig, ax = plt.subplots(figsize=(6.4, 4))
    xs = [row["followers"] for row in rows]
    ax.plot(xs, [row["fanout_ms"] for row in rows], "o-", label="every follower pushed")
    hybrid = [(row["followers"], row["hybrid_ms"]) for row in rows if row.get("hybrid_ms") is not None]
    if hybrid:
        ax.plot(*zip(*hybrid), "s--", label="production: hybrid (not pushed from 10,000)")
    ax.axvline(HYBRID_THRESHOLD, color="grey", linestyle=":", label="FANOUT_THRESHOLD")
    ax.set(xscale="log", yscale="log", xlabel="followers", ylabel="fan-out time (ms)")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    r.plot(fig, "fanout", "fan-out time by follower count")


def feed(r: Report, data: dict | None) -> None:
    r.add("", "## 2. Home feed read beside a bare hyper hello-world")
    if data is None:
        return r.add("", "Not run.")
    hp, fp, hh, fh = data["hello_peak"], data["feed_peak"], data["hello_half"], data["feed_half"]
    # Runs from before issue 17 measured Redis alone, unpinned.
    ep, eh = data.get("embedded_peak"), data.get("embedded_half")
    ratio = fp["rps"] / hp["rps"]
    pinned = data.get("pinned", False)
    r.add(
        "",
        f"`GET /feed` of a reader following {data['reader_followees']} users ({data['items_per_page']}"
        " hydrated posts per page with counts and viewer state, blocks and mutes filtered, JWT checked "
        "on every request), on Redis (feed and post cache) and on the embedded default (SQLite, "
        "in-memory feeds), beside `rookery-bench hello` (hyper, the same runtime and connection "
        "builder as `axum::serve`). Each is loaded by wrk (32 connections) for its peak, then by oha "
        "at half that peak, at a fixed rate with coordinated-omission correction, for latency. "
        + ("The server runs on core 0 and the load generator on core 1 (`taskset`)."
           if pinned else "Server and load generator share the cores (no taskset)."),
        "",
        "| server | peak req/s | p99 at peak (ms) | rate at half peak | p50 (ms) | p99 (ms) | errors |",
        "|---|--:|--:|--:|--:|--:|--:|",
        f"| hello-world | {num(hp['rps'])} | {hp['p99_ms']:.2f} | {num(hh['rate'])} | {hh['p50_ms']:.2f} | {hh['p99_ms']:.2f} | {hh['errors'] + hh['non_2xx']} |",
        f"| `GET /feed`, Redis | {num(fp['rps'])} | {fp['p99_ms']:.2f} | {num(fh['rate'])} | {fh['p50_ms']:.2f} | {fh['p99_ms']:.2f} | {fh['errors'] + fh['non_2xx'] + fp['non_2xx']} |",
    )
    if ep is not None and eh is not None:
        r.add(
            f"| `GET /feed`, embedded | {num(ep['rps'])} | {ep['p99_ms']:.2f} | {num(eh['rate'])} | {eh['p50_ms']:.2f} | {eh['p99_ms']:.2f} | {eh['errors'] + eh['non_2xx'] + ep['non_2xx']} |",
        )
    r.target("`GET /feed` peak vs hello-world, Redis", f"{num(fp['rps'])} req/s = {ratio:.2f}x", ">= 0.3x", ratio >= 0.3)
    r.target("`GET /feed` p99 at half peak, Redis", f"{fh['p99_ms']:.2f} ms", "< 5 ms", fh["p99_ms"] < 5)
    if ep is not None and eh is not None:
        eratio = ep["rps"] / hp["rps"]
        r.target("`GET /feed` peak vs hello-world, embedded", f"{num(ep['rps'])} req/s = {eratio:.2f}x", ">= 0.3x", eratio >= 0.3)
        r.target("`GET /feed` p99 at half peak, embedded", f"{eh['p99_ms']:.2f} ms", "< 5 ms", eh["p99_ms"] < 5)
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.6))
    a.bar(["hello-world", "GET /feed"], [hp["rps"], fp["rps"]], color=["grey", "tab:blue"])
    a.set(ylabel="peak requests/s", title=f"peak: ratio {ratio:.2f}")
    width = 0.38
    b.bar([0 - width / 2, 1 - width / 2], [hh["p50_ms"], fh["p50_ms"]], width, label="p50")
    b.bar([0 + width / 2, 1 + width / 2], [hh["p99_ms"], fh["p99_ms"]], width, label="p99")
    b.axhline(5, color="red", linestyle=":", label="5 ms")
    b.set_xticks([0, 1], ["hello-world", "GET /feed"])
    b.set(ylabel="ms", title="latency at half of peak")
    b.legend()
    r.plot(fig, "feed", "feed read beside hello-world")


def followees(r: Report, data: dict | None) -> None:
    r.add("", "## 3. Home feed latency by number of followees")
    if data is None:
        return r.add("", "Not run.")
    rows = data["by_followees"]
    r.add(
        "",
        "One reader per count follows that many authors, each of whom posted 3 times before. "
        "`GET /feed` at a fixed 200 req/s (oha, 16 connections), after one read that fills the feed.",
        "",
        "| followees | p50 (ms) | p90 (ms) | p99 (ms) | errors |",
        "|--:|--:|--:|--:|--:|",
    )
    for row in rows:
        res = row["result"]
        r.add(f"| {num(row['followees'])} | {res['p50_ms']:.2f} | {res['p90_ms']:.2f} | {res['p99_ms']:.2f} | {res['errors'] + res['non_2xx']} |")
    p50s = [row["result"]["p50_ms"] for row in rows]
    spread = max(p50s) / min(p50s)
    r.target(
        f"feed p50 from {num(rows[0]['followees'])} to {num(rows[-1]['followees'])} followees",
        f"max/min {spread:.2f}x",
        "<= 1.5x",
        spread <= 1.5,
    )
    fig, ax = plt.subplots(figsize=(6.4, 4))
    xs = [row["followees"] for row in rows]
    ax.plot(xs, p50s, "o-", label="p50")
    ax.plot(xs, [row["result"]["p99_ms"] for row in rows], "s--", label="p99")
    ax.set(xscale="log", xlabel="followees", ylabel="ms", title="GET /feed at 200 req/s")
    ax.set_ylim(bottom=0)
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    r.plot(fig, "followees", "feed latency by followee count")


def mixed(r: Report, data: dict | None) -> None:
    r.add("", "## 4. Mixed workload (DeathStarBench social network proportions)")
    if data is None:
        return r.add("", "Not run.")
    seed, runs = data["seed"], data["runs"]
    r.add(
        "",
        f"{num(seed['users'])} users; user of rank r has about users/r followers (Zipf, exponent 1, "
        f"fixed seed): {num(seed['follows'])} follow edges, the most followed user has "
        f"{num(seed['max_followers'])}; {num(seed['posts'])} posts before the load. wrk "
        "(`bench/wrk/mixed.lua`, 2 threads): 60% `GET /feed`, 30% `GET /users/{name}/posts`, "
        "10% `POST /posts` (fanned out in process to the author's followers), each by a random user.",
        "",
        "| connections | req/s | p50 (ms) | p99 (ms) | non-2xx | socket errors |",
        "|--:|--:|--:|--:|--:|--:|",
    )
    for run in runs:
        res = run["result"]
        r.add(f"| {run['connections']} | {num(res['rps'])} | {res['p50_ms']:.2f} | {res['p99_ms']:.2f} | {res['non_2xx']} | {res['socket_errors']} |")
    good = [run["result"] for run in runs if run["result"]["p99_ms"] < 50 and run["result"]["non_2xx"] == 0]
    best = max((res["rps"] for res in good), default=0)
    r.target("mixed workload throughput with p99 < 50 ms", f"{num(best)} req/s", "(reported)", best > 0)
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.plot([run["result"]["rps"] for run in runs], [run["result"]["p99_ms"] for run in runs], "o-")
    for run in runs:
        ax.annotate(str(run["connections"]), (run["result"]["rps"], run["result"]["p99_ms"]),
                    textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.axhline(50, color="red", linestyle=":", label="p99 = 50 ms")
    ax.set(xlabel="requests/s", ylabel="p99 (ms)", title="mixed workload (labels: connections)")
    ax.set_ylim(bottom=0)
    ax.legend()
    ax.grid(True, alpha=0.3)
    r.plot(fig, "mixed", "mixed workload throughput and p99")


def login(r: Report, data: dict | None) -> None:
    r.add("", "## 5. Login beside raw bcrypt, and `/health` during a login storm")
    if data is None:
        return r.add("", "Not run.")
    bc, lg, idle, storm = data["bcrypt"], data["logins"], data["health_idle"], data["health_storm"]
    ratio = lg["rps"] / bc["per_sec"]
    r.add(
        "",
        f"bcrypt cost {data['cost']}. Raw: `rookery-bench bcrypt` verifies on {bc['threads']} threads "
        "(one per core) and nothing else. Logins: wrk, 16 connections, `POST /auth/login` of one "
        "user. `GET /health` at a fixed 50 req/s (oha) on the idle server, then during the storm.",
        "",
        "| | per second | p50 (ms) | p99 (ms) | non-2xx |",
        "|---|--:|--:|--:|--:|",
        f"| raw bcrypt verifications | {num(bc['per_sec'], 1)} | | | |",
        f"| logins | {num(lg['rps'], 1)} | {lg['p50_ms']:.1f} | {lg['p99_ms']:.1f} | {lg['non_2xx']} |",
        f"| `GET /health`, idle | {num(idle['rps'], 1)} | {idle['p50_ms']:.2f} | {idle['p99_ms']:.2f} | {idle['non_2xx']} |",
        f"| `GET /health`, during the storm | {num(storm['rps'], 1)} | {storm['p50_ms']:.2f} | {storm['p99_ms']:.2f} | {storm['non_2xx']} |",
    )
    r.target("logins vs raw bcrypt on the same cores", f"{num(lg['rps'], 1)}/s = {ratio:.2f}x", ">= 0.9x", ratio >= 0.9)
    near = storm["p99_ms"] <= max(2 * idle["p99_ms"], idle["p99_ms"] + 5)
    r.target(
        "`/health` p99 during the login storm",
        f"{storm['p99_ms']:.2f} ms (idle {idle['p99_ms']:.2f} ms)",
        "near idle: <= 2x idle or idle + 5 ms",
        near,
    )
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.6))
    a.bar(["raw bcrypt", "logins"], [bc["per_sec"], lg["rps"]], color=["grey", "tab:blue"])
    a.set(ylabel="per second", title=f"cost {data['cost']}: ratio {ratio:.2f}")
    b.bar(["idle", "login storm"], [idle["p99_ms"], storm["p99_ms"]], color=["grey", "tab:orange"])
    b.set(ylabel="GET /health p99 (ms)", title="health during a login storm")
    r.plot(fig, "login", "logins and health")


def limits(r: Report, data: dict | None) -> None:
    r.add("", "## 7. A login storm past the rate limit")
    if data is None:
        return r.add("", "Not run.")
    bc, lim, after = data["bcrypt"], data["limited"], data["after"]
    refused = lim["non_2xx"] / max(lim["requests"], 1)
    ratio = lim["rps"] / bc["per_sec"]
    r.add(
        "",
        f"The server with its default rate limits on, counted in Redis, bcrypt cost {data['cost']}. "
        "wrk, 16 connections, `POST /auth/login` of one user with the right password from one "
        "address, after a first storm used up the address's 100 logins per 15 minutes. The limit "
        "then lets one login through every 9 s (15 minutes / 100: the rule's GCRA interval); "
        "every other answer is 429, decided by one Redis script call before any password is "
        "checked. "
        f"Beside it, raw bcrypt verifications on {bc['threads']} threads, the ceiling of logins "
        f"that pay a hash. A request after the storm: {after['status']}, `Retry-After: "
        f"{after['retry_after']}`.",
        "",
        "| | per second | p50 (ms) | p99 (ms) | refused (429) |",
        "|---|--:|--:|--:|--:|",
        f"| raw bcrypt verifications | {num(bc['per_sec'], 1)} | | | |",
        f"| logins past the limit | {num(lim['rps'], 1)} | {lim['p50_ms']:.2f} | {lim['p99_ms']:.2f} | {refused:.4%} |",
    )
    r.target(
        "a limited login storm vs raw bcrypt (refused at the cost of a counter)",
        f"{num(lim['rps'])}/s = {ratio:.0f}x, {lim['requests'] - lim['non_2xx']} of {num(lim['requests'])} let through",
        ">= 10x, and no more let through than one per 9 s",
        ratio >= 10 and lim["requests"] - lim["non_2xx"] <= lim["seconds"] / 9 + 1 and after["status"] == 429,
    )
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.bar(["raw bcrypt", "logins past\nthe limit (429)"], [bc["per_sec"], lim["rps"]], color=["grey", "tab:green"])
    ax.set_yscale("log")
    ax.set(ylabel="per second (log)", title=f"a refused login: {ratio:.0f}x a bcrypt hash")
    r.plot(fig, "limits", "a login storm past the rate limit")


def startup(r: Report, data: dict | None) -> None:
    r.add("", "## 6. Function binaries: size, start to first answer, memory")
    if data is None:
        return r.add("", "Not run.")
    fns = data["functions"]
    r.add(
        "",
        f"`functions`-profile binaries for the host. Sizes are those shipped ({data.get('ship_dir', data['bin_dir'])}: "
        "`cargo lambda build`'s features, SQL Server alone); start-up is measured on the same profile "
        f"with SQLite as well ({data['bin_dir']}), as no SQL Server runs here. {data['runs']} runs per function and "
        "data dir, each spawned against a local Lambda Runtime API emulator "
        "(`scripts/lambda_runtime_emulator.py`) holding one event from `events/`; *first answer* is "
        "spawn to its `/response`. Cold: an empty data dir (SQLite created and migrated). Warm: a "
        "seeded one. RSS right after the answer. Full table: `startup.md` beside this report.",
        "",
        "| function | shipped size (MB) | cold: first answer median (ms) | warm: median (ms) | warm p90 (ms) | RSS (MiB) |",
        "|---|--:|--:|--:|--:|--:|",
    )
    slow, big = [], []
    for name, f in fns.items():
        cold = f["modes"].get("cold", {}).get("summary", {})
        warm = f["modes"].get("warm", {}).get("summary", {})
        rss = warm.get("rss_median_kib")
        r.add(
            f"| `{name}` | {f['bytes'] / 1e6:.2f} | {cold.get('median_ms', math.nan):.1f} | {warm.get('median_ms', math.nan):.1f}"
            f" | {warm.get('p90_ms', math.nan):.1f} | {'-' if rss is None else f'{rss / 1024:.1f}'} |"
        )
        for summary in (cold, warm):
            if summary and (summary.get("median_ms", math.inf) > 15 or summary.get("answered") != summary.get("runs")):
                slow.append(name)
        if f["bytes"] > 8_000_000:
            big.append(name)
    worst = max(
        (s.get("median_ms", math.inf) for f in fns.values() for s in (m["summary"] for m in f["modes"].values())),
        default=math.nan,
    )
    largest = max(f["bytes"] for f in fns.values())
    # Issue 17's limits: lambda-perf's Rust init figure is 14-16 ms.
    r.target("start to first answered invocation (slowest median)", f"{worst:.1f} ms", "<= 15 ms", not slow)
    r.target("largest function binary", f"{largest / 1e6:.2f} MB", "<= 8 MB", not big)
    names = list(fns)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.8))
    a.barh(names, [fns[n]["bytes"] / 1e6 for n in names])
    a.axvline(8, color="red", linestyle=":")
    a.set(xlabel="binary size (MB)")
    for mode, marker in (("cold", "o"), ("warm", "s")):
        b.scatter([fns[n]["modes"].get(mode, {}).get("summary", {}).get("median_ms", math.nan) for n in names],
                  names, marker=marker, label=mode)
    b.axvline(15, color="red", linestyle=":")
    b.set(xlabel="start to first answer, median (ms)")
    b.set_xlim(left=0)
    b.legend()
    r.plot(fig, "startup", "function binaries")


def build(r: Report, data: dict | None) -> None:
    r.add("", "## 8. Cold build of the local server")
    if data is None:
        return r.add("", "Not run.")
    minutes = data["seconds"] / 60
    r.add(
        "",
        f"`{data['command']}` into an empty target folder, the crates already downloaded, on "
        f"{data['cores']} cores: what `cargo run --release` costs a newcomer. The release profile "
        "builds in parallel codegen units without LTO; the Lambda functions have their own "
        "`functions` profile (size-optimised, fat LTO, one codegen unit).",
    )
    r.target("`cargo run --release` from a cold cache", f"{minutes:.1f} min", "<= 6 min", data["seconds"] <= 360)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--machine", required=True)
    parser.add_argument("--command", required=True)
    parser.add_argument("--seconds", type=int, required=True)
    args = parser.parse_args()
    directory = Path(args.dir)
    r = Report(directory)
    fanout(r, load(directory, "fanout"))
    feed(r, load(directory, "feed"))
    followees(r, load(directory, "feed"))
    mixed(r, load(directory, "mixed"))
    login(r, load(directory, "login"))
    startup(r, load(directory, "startup"))
    limits(r, load(directory, "limits"))
    build(r, load(directory, "build"))
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    head = [
        "# Rookery benchmarks",
        "",
        f"- Command: `{args.command}` (the measurements took {args.seconds} s, after the build)",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; commit {commit}",
        f"- Machine: {args.machine}. Section 2 pins each server to one core and its load generator "
        "to another; elsewhere the load generators share the cores with the server. Either way "
        "Rookery and its baseline run alike: compare ratios, not absolute figures, across machines.",
        "",
        "## Targets",
        "",
        "| what | measured | target | verdict |",
        "|---|---|---|---|",
    ] + [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in r.targets]
    # The hand-written reading of the figures, kept beside the code (bench/analysis.md).
    analysis = Path(__file__).with_name("analysis.md")
    if analysis.is_file():
        head += ["", analysis.read_text().rstrip()]
    (directory / "report.md").write_text("\n".join(head + r.lines) + "\n")


if __name__ == "__main__":
    main()
