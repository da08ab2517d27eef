#!/usr/bin/env python3
"""A local AWS Lambda Runtime API (v2018-06-01) and the start-up benchmark built on it.

The emulator is an HTTP server on 127.0.0.1 that hands one queued event to
`GET /2018-06-01/runtime/invocation/next` and records what the function posts back
(`.../invocation/<id>/response`, `.../invocation/<id>/error`, `/runtime/init/error`), with the
time each call arrived. The benchmark spawns each function binary against it and measures
spawn -> first `/next` (init done) and spawn -> answer, plus VmRSS after the answer.

  lambda_runtime_emulator.py --bin-dir target/functions --out target/bench --runs 10
  lambda_runtime_emulator.py --self-test      # the emulator and the harness against fake clients

Standard library only. scripts/bench-startup builds the binaries and runs the first form.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import queue
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

API = "/2018-06-01/runtime"
# RFC 8037's published example key (appendix A.1) and its JWK Set: for benchmarks only.
JWT_PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n"
)
JWT_PUBLIC_KEYS = json.dumps({"keys": [{
    "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    "kid": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", "alg": "EdDSA", "use": "sig"}]})
TARGET_MS = 15.0  # issue 17: start to first answered invocation at most 15 ms
TARGET_BYTES = 8_000_000  # issues 12 and 17: "at most 8 MB", read strictly as 8 * 10^6 bytes
MIB = 1024 * 1024


# --- The Runtime API emulator ------------------------------------------------------------------


@dataclass
class Outcome:
    """What the function posted: kind is "response", "error" or "init_error"."""

    kind: str
    request_id: str | None
    body: bytes
    at: float  # time.perf_counter() when the whole POST had arrived


class RuntimeApi:
    """The Runtime API on 127.0.0.1:<free port>; `invoke` queues an event for `/next`."""

    def __init__(self, function_name: str = "function"):
        self.function_name = function_name
        self.events: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.outcomes: queue.Queue[Outcome] = queue.Queue()
        self.first_next_at: float | None = None
        self.closing = threading.Event()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.api = self  # type: ignore[attr-defined]
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def invoke(self, event: bytes) -> str:
        request_id = str(uuid.uuid4())
        self.events.put((request_id, event))
        return request_id

    def wait_outcome(self, timeout: float) -> Outcome | None:
        try:
            return self.outcomes.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()

    def headers_for(self, request_id: str) -> dict[str, str]:
        now = time.time()
        trace = f"Root=1-{int(now):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"
        arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        return {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(int(now * 1000) + 30_000),
            "Lambda-Runtime-Invoked-Function-Arn": arn,
            "Lambda-Runtime-Trace-Id": trace,
            "Content-Type": "application/json",
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a terminated function's socket
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real Runtime API

    def log_message(self, *_args) -> None:
        pass

    @property
    def api(self) -> RuntimeApi:
        return self.server.api  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        if self.path != f"{API}/invocation/next":
            return self._reply(404, {"errorMessage": f"no route {self.path}"})
        if self.api.first_next_at is None:
            self.api.first_next_at = time.perf_counter()
        while not self.api.closing.is_set():
            try:
                request_id, event = self.api.events.get(timeout=0.05)
            except queue.Empty:
                continue
            return self._send(200, event, self.api.headers_for(request_id))
        self.close_connection = True

    def do_POST(self) -> None:
        body = self._read_body()
        at = time.perf_counter()
        match = re.fullmatch(rf"{API}/invocation/([^/]+)/(response|error)", self.path)
        if match:
            kind, request_id = match.group(2), match.group(1)
        elif self.path == f"{API}/init/error":
            kind, request_id = "init_error", None
        else:
            return self._reply(404, {"errorMessage": f"no route {self.path}"})
        self.api.outcomes.put(Outcome(kind, request_id, body, at))
        self._reply(202, {"status": "OK"})

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reply(self, status: int, payload: dict) -> None:
        self._send(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the function was terminated mid-call
            self.close_connection = True


# --- One cold start --------------------------------------------------------------------------


@dataclass
class Run:
    outcome: str  # response | error | init_error | exited | timeout
    answer: str  # the HTTP status, authorizer verdict, batch report...
    start_to_answer_ms: float | None = None
    init_ms: float | None = None  # spawn -> first GET /next
    rss_kib: int | None = None  # VmRSS right after the answer
    hwm_kib: int | None = None  # VmHWM (peak RSS) at that moment
    log: str = ""
    body: bytes = field(default=b"", repr=False)  # the raw answer, kept out of the JSON


# More variables for every function (`--env NAME=VALUE`): to measure a start against real
# stores (NEO4J_URI, ...) or with secrets read from Secrets Manager (<NAME>_SECRET_ID, ...).
EXTRA_ENV: dict[str, str] = {}


def function_env(name: str, api: str, data_dir: Path) -> dict[str, str]:
    """A clean environment: nothing inherited selects Redis, RabbitMQ or SMTP, except for the
    relay, which publishes to RabbitMQ or nowhere: it gets the loopback broker (TEST_RABBITMQ_URL,
    default guest@127.0.0.1:5672; scripts/services starts it), in a namespace of its own whose
    queues expire."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "RUST_LOG": os.environ.get("RUST_LOG", "info"),
        "AWS_LAMBDA_RUNTIME_API": api,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"2026/11/25/[$LATEST]{uuid.uuid4().hex}",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_REGION": "us-east-1",
        "JWT_PUBLIC_KEYS": JWT_PUBLIC_KEYS,
        "ROOKERY_DATA_DIR": str(data_dir),
        "BCRYPT_COST": "4",
    }
    if name in ("login", "account"):
        env["JWT_PRIVATE_KEY"] = JWT_PRIVATE_KEY
    if name == "relay":
        env["RABBITMQ_URL"] = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
        env["RABBITMQ_NAMESPACE"] = "bench-startup"
        env["RABBITMQ_QUEUE_EXPIRY_SECONDS"] = "300"
    env.update(EXTRA_ENV)
    return env


def memory_kib(pid: int) -> tuple[int | None, int | None]:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None, None
    found = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE))
    rss, hwm = found.get("VmRSS"), found.get("VmHWM")
    return (int(rss) if rss else None), (int(hwm) if hwm else None)


def describe(outcome: Outcome) -> str:
    """A short account of an answer: the HTTP status of an API Gateway v2 response, etc."""
    try:
        body = json.loads(outcome.body or b"null")
    except ValueError:
        return outcome.body[:60].decode(errors="replace")
    if isinstance(body, dict):
        if "statusCode" in body:
            return str(body["statusCode"])
        if "isAuthorized" in body:
            return "allowed" if body["isAuthorized"] else "denied"
        if "errorType" in body or "errorMessage" in body:
            return f"{body.get('errorType', '')}: {body.get('errorMessage', '')}"[:120]
        if body and all(isinstance(v, (int, float)) for v in body.values()):
            return " ".join(f"{k}={v}" for k, v in body.items())
    return json.dumps(body)[:60]


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_once(cmd: list[str], name: str, event: bytes, data_dir: Path, log: Path, timeout: float) -> Run:
    """Spawns `cmd` against a fresh emulator holding `event`; returns how the first call went."""
    api = RuntimeApi(name)
    api.invoke(event)
    env = function_env(name, api.address, data_dir)
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        with log.open("wb") as out:
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
            try:
                got = wait_answer(api, proc, t0 + timeout)
                rss, hwm = memory_kib(proc.pid) if got else (None, None)
            finally:
                stop(proc)
    finally:
        api.close()
    init_ms = (api.first_next_at - t0) * 1000 if api.first_next_at else None
    if got is None:
        rc = proc.returncode
        if rc is not None and rc not in (-15, -9):  # it ended by itself, not by our terminate()
            return Run("exited", f"exit status {rc}", init_ms=init_ms, log=str(log))
        return Run("timeout", f"no answer in {timeout:g} s", init_ms=init_ms, log=str(log))
    elapsed = (got.at - t0) * 1000
    return Run(got.kind, describe(got), elapsed, init_ms, rss, hwm, str(log), got.body)


def wait_answer(api: RuntimeApi, proc: subprocess.Popen, deadline: float) -> Outcome | None:
    while time.perf_counter() < deadline:
        if got := api.wait_outcome(0.01):
            return got
        if proc.poll() is not None:
            return api.wait_outcome(0.2)  # a POST racing the exit
    return None


# --- The functions and their events ---------------------------------------------------------


@dataclass
class Fixture:
    path: str  # under events/
    queues: tuple[str, ...] = ()  # keep only these queues of a RabbitMQ batch
    body: dict = field(default_factory=dict)  # fields to change in an HTTP request's JSON body


# What each function answers first: the fixtures of events/, trimmed to the queues its event
# source mapping would deliver.
FIXTURES = {
    "register": Fixture("http/register.json"),
    "login": Fixture("http/login.json"),
    "authorizer": Fixture("authorizer/request.json"),
    "profile": Fixture("http/health.json"),
    "follow": Fixture("http/follow.json"),
    "post": Fixture("http/create-post.json"),
    "feed-read": Fixture("http/feed.json"),
    "interact": Fixture("http/tag-posts.json"),
    "notifications": Fixture("http/unread-count.json"),
    "account": Fixture("http/search-users.json"),
    "network": Fixture("rabbitmq/user-registered.json", ("network.users",)),
    "email": Fixture("rabbitmq/user-registered.json", ("email.welcome",)),
    "fanout": Fixture("rabbitmq/mixed.json", ("feed.posts", "feed.follows")),
    "notify": Fixture("rabbitmq/notify-events.json", ("notify.events",)),
    "relay": Fixture("schedule.json"),
}


def load_event(events: Path, fixture: Fixture, token: str) -> bytes:
    text = (events / fixture.path).read_text().replace("{{TOKEN}}", token)
    if not fixture.queues and not fixture.body:
        return text.encode()
    event = json.loads(text)
    if fixture.body:
        event["body"] = json.dumps({**json.loads(event["body"]), **fixture.body})
    if fixture.queues:
        event["rmqMessagesByQueue"] = {
            source: messages
            for source, messages in event["rmqMessagesByQueue"].items()
            if source.split("::")[0] in fixture.queues
        }
    return json.dumps(event).encode()


def function_names(root: Path) -> list[str]:
    """The function binaries: template.yaml's `BuildProperties: {Binary: ...}`, checked
    against functions/*/."""
    from_template = re.findall(r"\bBinary:\s*([A-Za-z0-9_-]+)", (root / "template.yaml").read_text())
    from_dirs = {p.parent.name for p in (root / "functions").glob("*/main.rs")}
    for name in sorted(from_dirs.symmetric_difference(from_template)):
        print(f"warning: {name} is in only one of template.yaml and functions/", file=sys.stderr)
    return from_template or sorted(from_dirs)


# --- The benchmark -----------------------------------------------------------------------------


@dataclass
class Bench:
    root: Path
    bin_dir: Path
    out: Path
    timeout: float
    scratch: Path
    token: str = ""
    notes: list[str] = field(default_factory=list)

    def call(self, name: str, fixture: Fixture, data_dir: Path, log: Path) -> Run:
        event = load_event(self.root / "events", fixture, self.token)
        return run_once([str(self.bin_dir / name)], name, event, data_dir, log, self.timeout)

    def fresh_dir(self, seed: Path | None) -> Path:
        data = Path(tempfile.mkdtemp(dir=self.scratch))
        if seed:
            shutil.copytree(seed, data, dirs_exist_ok=True)
        return data

    def seed(self) -> Path:
        """A data dir as a live instance would have it: users ann and bob, ann's post, the
        outbox relayed; and ann's token for the events that need one."""
        seed = self.scratch / "seed"
        seed.mkdir()
        bob = {"username": "bob", "email": "bob@example.com"}
        steps = [
            ("register", FIXTURES["register"]),
            ("register", Fixture("http/register.json", body=bob)),
            ("login", FIXTURES["login"]),
            ("post", FIXTURES["post"]),
            ("relay", FIXTURES["relay"]),
        ]
        for step, (name, fixture) in enumerate(steps):
            run = self.call(name, fixture, seed, self.out / "startup-logs" / f"seed-{step}-{name}.log")
            if run.outcome != "response" or run.answer.startswith(("4", "5")):
                self.notes.append(f"seeding: {name} answered {run.outcome} {run.answer} (see {run.log})")
            if name == "login":
                self.token = access_token(run.body)
        if not self.token:
            self.notes.append("seeding: no token from login; events that need one carry an empty one")
        return seed

    def measure(self, names: list[str], mode: str, seed: Path | None, runs: int) -> dict[str, list[Run]]:
        results: dict[str, list[Run]] = {name: [] for name in names}
        for i in range(runs):  # round-robin, so drift on the machine hits every function alike
            for name in names:
                log = self.out / "startup-logs" / f"{mode}-{name}-{i + 1}.log"
                results[name].append(self.call(name, FIXTURES[name], self.fresh_dir(seed), log))
        return results


def access_token(body: bytes) -> str:
    """The token of a login's API Gateway v2 response, or ""."""
    try:
        return json.loads(json.loads(body)["body"])["access_token"]
    except (ValueError, KeyError, TypeError):
        return ""


# --- Figures and the report --------------------------------------------------------------------


def p90(values: list[float]) -> float:
    """Nearest rank: the smallest value with at least 90% of the values at or below it."""
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def summarize(runs: list[Run]) -> dict:
    ok = [r for r in runs if r.outcome == "response"]
    answers = sorted({r.answer for r in runs})
    summary: dict = {"runs": len(runs), "answered": len(ok), "answers": answers}
    if not ok:
        return summary
    total = [r.start_to_answer_ms for r in ok]
    inited = [r for r in ok if r.init_ms is not None]  # always, unless /next was never called
    rss = [r.rss_kib for r in ok if r.rss_kib]
    summary.update(
        median_ms=statistics.median(total),
        p90_ms=p90(total),
        min_ms=min(total),
        init_median_ms=statistics.median([r.init_ms for r in inited]) if inited else None,
        invoke_median_ms=statistics.median([r.start_to_answer_ms - r.init_ms for r in inited]) if inited else None,
        rss_median_kib=statistics.median(rss) if rss else None,
    )
    return summary


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^(?:model name|Model)\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model.group(1).strip() if model else "unknown",
        "kernel": f"{platform.system()} {platform.release()} {platform.machine()}",
        "rustc": tool_output(["rustc", "--version"]),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else [],
    }


def tool_output(cmd: list[str], cwd: Path | None = None) -> str:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def revision(root: Path) -> str:
    commit = tool_output(["git", "rev-parse", "--short", "HEAD"], root) or "unknown"
    dirty = tool_output(["git", "status", "--porcelain", "--untracked-files=no"], root)
    return f"{commit} (with uncommitted changes)" if dirty else commit


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def table(functions: dict, mode: str) -> list[str]:
    lines = [
        "| function | event | answer | shipped size (bytes) | shipped (MiB) | measured (MiB) | first answer: median | p90 | min (ms)"
        f" | init median (ms) | RSS median (MiB) | <= {TARGET_MS:g} ms | <= 8 MB |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|:-:|:-:|",
    ]
    for name, f in functions.items():
        s = f["modes"].get(mode, {}).get("summary", {"runs": 0, "answered": 0, "answers": []})
        answered = f"{s['answered']}/{s['runs']}"
        answers = ", ".join(f"`{a}`" for a in s["answers"]) or "-"
        if s["answered"] < s["runs"]:
            answers = f"**{answered} answered**: {answers}"
        fast = s.get("median_ms", math.inf) <= TARGET_MS and s["answered"] == s["runs"]
        small = "yes" if f["bytes"] <= TARGET_BYTES else "**no**"
        rss = s.get("rss_median_kib")
        lines.append(
            f"| `{name}` | {f['event']} | {answers} | {f['bytes']:,} | {f['bytes'] / MIB:.2f}"
            f" | {f['measured_bytes'] / MIB:.2f}"
            f" | {ms(s.get('median_ms'))} | {ms(s.get('p90_ms'))} | {ms(s.get('min_ms'))}"
            f" | {ms(s.get('init_median_ms'))} | {ms(rss / 1024 if rss else None)}"
            f" | {'yes' if fast else '**no**'} | {small} |"
        )
    return lines


MODES = {
    "cold": "A fresh, empty ROOKERY_DATA_DIR per run, as on a new Lambda instance"
    " (empty /tmp): the function creates rookery.db and runs the migrations before its first /next.",
    "warm": "A copy of a seeded data dir per run (rookery.db migrated; users ann and bob,"
    " a post by ann, outbox relayed), and ann's token in the events that carry one.",
}


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        "# Lambda functions: spawn to first answered invocation",
        "",
        f"- Command: `{report['command']}`",
        f"- Date: {report['date']}; commit {report['commit']}",
        f"- Machine: nproc {m['nproc']}, {m['cpu']}, {m['kernel']}; {m['rustc']};"
        f" load average at the start {' '.join(m['loadavg'])}",
        f"- Binaries: start-up measured on `{report['bin_dir']}`; sizes (*shipped*) of `{report['ship_dir']}`."
        " Both are the `functions` profile for the host target (`sam build` makes arm64 ones). The shipped"
        " ones have `cargo lambda build`'s features (SQL Server alone, Cargo.toml's"
        " [package.metadata.lambda.build]); the measured ones add SQLite (*measured* size), because no"
        " SQL Server runs here and every function but the authorizer needs a store to start.",
        f"- {report['runs']} runs per function and data dir, round-robin over the functions. Each run spawns the"
        " binary against a fresh local Runtime API (scripts/lambda_runtime_emulator.py) holding one event;"
        " *first answer* is spawn to the arrival of its `/response`, *init* spawn to its first `GET /next`,"
        " RSS is VmRSS right after the answer. p90 is nearest-rank. Environment: only the Lambda variables,"
        " JWT_PUBLIC_KEYS (JWT_PRIVATE_KEY for login and account), ROOKERY_DATA_DIR, BCRYPT_COST=4 and RUST_LOG=info: no REDIS_URL, RABBITMQ_URL (but for the relay) or"
        " SMTP_URL, so the embedded adapters (SQLite, memory feeds, mail to a folder; events wait in the outbox).",
        f"- Targets (issues 12 and 17): first answer at most {TARGET_MS:g} ms (judged on the median, every run"
        " answered), shipped binary at most 8 MB (read as 8,000,000 bytes).",
    ]
    for mode in report["modes"]:
        lines += ["", f"## {mode.capitalize()} data dir", "", MODES[mode], ""]
        lines += table(report["functions"], mode)
    if report["notes"]:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in report["notes"]]
    return "\n".join(lines) + "\n"


def bench(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve()
    names = [n for n in function_names(root) if not args.only or n in args.only.split(",")]
    out = Path(args.out)
    ship_dir = Path(args.ship_dir or args.bin_dir)
    shutil.rmtree(out / "startup-logs", ignore_errors=True)
    report: dict = {
        "command": args.command or " ".join(sys.argv),
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "commit": revision(root),
        "machine": machine(),
        "bin_dir": args.bin_dir,
        "ship_dir": str(ship_dir),
        "runs": args.runs,
        "modes": args.modes.split(","),
        "targets": {"first_answer_ms": TARGET_MS, "binary_bytes": TARGET_BYTES},
        "functions": {},
    }
    with tempfile.TemporaryDirectory(prefix="rookery-startup-") as scratch:
        b = Bench(root, Path(args.bin_dir).resolve(), out, args.timeout, Path(scratch))
        missing = [n for n in names if n not in FIXTURES or not (b.bin_dir / n).is_file()
                   or not (ship_dir / n).is_file()]
        for name in missing:
            b.notes.append(f"`{name}`: no binary in {args.bin_dir} or {ship_dir}, or no event configured; not measured")
        names = [n for n in names if n not in missing]
        seed = b.seed() if "warm" in report["modes"] else None
        results = {
            mode: b.measure(names, mode, seed if mode == "warm" else None, args.runs)
            for mode in report["modes"]
        }
    for name in names:
        report["functions"][name] = function_report(b, name, results, ship_dir)
    report["notes"] = b.notes + failure_notes(results)
    text = markdown(report)
    out.mkdir(parents=True, exist_ok=True)
    (out / "startup.md").write_text(text)
    (out / "startup.json").write_text(json.dumps(report, indent=2) + "\n")
    print(text)
    print(f"Written: {out}/startup.md, {out}/startup.json; logs in {out}/startup-logs/", file=sys.stderr)
    return 0


def function_report(b: Bench, name: str, results: dict[str, dict[str, list[Run]]], ship_dir: Path) -> dict:
    fixture = FIXTURES[name]
    event = f"`{fixture.path}`" + (f" ({', '.join(fixture.queues)})" if fixture.queues else "")
    runs = {mode: per_name[name] for mode, per_name in results.items()}
    return {
        "binary": str(b.bin_dir / name),
        "measured_bytes": (b.bin_dir / name).stat().st_size,
        "shipped_binary": str(ship_dir / name),
        "bytes": (ship_dir / name).stat().st_size,
        "event": event,
        "modes": {
            mode: {"summary": summarize(rs), "runs": [without_body(r) for r in rs]}
            for mode, rs in runs.items()
        },
    }


def without_body(run: Run) -> dict:
    return {k: v for k, v in asdict(run).items() if k != "body"}


def failure_notes(results: dict[str, dict[str, list[Run]]]) -> list[str]:
    """One line per function, data dir and kind of failure: no answer, or an HTTP 5xx."""
    notes = []
    for mode, per_name in results.items():
        for name, runs in per_name.items():
            failed = [r for r in runs if r.outcome != "response" or r.answer.startswith("5")]
            for outcome, answer in sorted({(r.outcome, r.answer) for r in failed}):
                same = [r for r in failed if (r.outcome, r.answer) == (outcome, answer)]
                count = f"{len(same)}/{len(runs)} runs"
                notes.append(f"{mode} `{name}`: {outcome} `{answer}` in {count}; log {same[0].log}")
    return notes


# --- Self-test -----------------------------------------------------------------------------------


def http(api: RuntimeApi, method: str, path: str, body: bytes | None = None, timeout: float = 5):
    request = urllib.request.Request(f"http://{api.address}{API}{path}", data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def check_emulator() -> None:
    api = RuntimeApi("selftest")
    try:
        rid = api.invoke(b'{"n": 1}')
        status, headers, body = http(api, "GET", "/invocation/next")
        assert (status, body) == (200, b'{"n": 1}'), (status, body)
        assert headers["Lambda-Runtime-Aws-Request-Id"] == rid
        assert abs(int(headers["Lambda-Runtime-Deadline-Ms"]) - time.time() * 1000 - 30_000) < 2_000
        assert headers["Lambda-Runtime-Invoked-Function-Arn"].endswith(":function:selftest")
        assert headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-")
        assert api.first_next_at is not None
        assert http(api, "POST", f"/invocation/{rid}/response", b'{"statusCode": 201}')[0] == 202
        got = api.wait_outcome(1)
        assert got and (got.kind, got.request_id, describe(got)) == ("response", rid, "201"), got

        rid = api.invoke(b"{}")
        assert http(api, "GET", "/invocation/next")[0] == 200
        error = b'{"errorType": "Boom", "errorMessage": "bad"}'
        assert http(api, "POST", f"/invocation/{rid}/error", error)[0] == 202
        got = api.wait_outcome(1)
        assert got and (got.kind, got.request_id, describe(got)) == ("error", rid, "Boom: bad"), got

        assert http(api, "POST", "/init/error", error)[0] == 202
        got = api.wait_outcome(1)
        assert got and (got.kind, got.request_id) == ("init_error", None), got
        assert http(api, "GET", "/nowhere")[0] == 404
        try:  # nothing queued: /next holds the call, as the real API does
            http(api, "GET", "/invocation/next", timeout=0.3)
            raise AssertionError("/next answered with no event queued")
        except (TimeoutError, urllib.error.URLError):
            pass
        assert api.wait_outcome(0.1) is None
    finally:
        api.close()
    print("ok  emulator: next -> response, next -> error, init/error, 404, /next waits")


def check_harness() -> None:
    cases = {
        "answer": ("response", "200"),
        "error": ("error", "Boom: bad"),
        "init-error": ("init_error", "Boom: bad"),
        "crash": ("exited", "exit status 3"),
        "hang": ("timeout", "no answer in 1 s"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for mode, expected in cases.items():
            cmd = [sys.executable, __file__, "--fake-function", mode]
            run = run_once(cmd, "fake", b"{}", Path(tmp), Path(tmp) / f"{mode}.log", timeout=1)
            assert (run.outcome, run.answer) == expected, (mode, run, Path(run.log).read_text())
            if mode == "answer":
                assert run.rss_kib and run.init_ms and 0 < run.init_ms <= run.start_to_answer_ms, run
    print("ok  harness: answer, error, init error, crash and hang classified; times and RSS taken")


def check_fixtures(root: Path) -> None:
    names = function_names(root)
    assert "rookery" not in names and set(FIXTURES) == set(names), names
    batch = json.loads(load_event(root / "events", FIXTURES["network"], ""))
    assert list(batch["rmqMessagesByQueue"]) == ["network.users::/"], batch
    assert b"{{TOKEN}}" not in load_event(root / "events", FIXTURES["feed-read"], "t")
    p = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    assert (p90(p), p90(p[:5]), p90([4.0])) == (9.0, 5.0, 4.0)
    print(f"ok  fixtures: one event for each of the {len(names)} functions of template.yaml; p90")


def fake_function(mode: str) -> int:
    """A stand-in function runtime for the self-test, a client of AWS_LAMBDA_RUNTIME_API."""
    for var in ("AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION"):
        assert os.environ[var], var
    base = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}{API}"
    error = b'{"errorType": "Boom", "errorMessage": "bad"}'

    def post(path: str, body: bytes) -> None:
        urllib.request.urlopen(urllib.request.Request(base + path, data=body, method="POST")).close()

    if mode == "crash":
        return 3
    if mode == "init-error":
        post("/init/error", error)
        return 1
    while True:  # like a real runtime: answer, then wait on /next until terminated
        with urllib.request.urlopen(base + "/invocation/next") as response:
            rid = response.headers["Lambda-Runtime-Aws-Request-Id"]
        if mode == "hang":
            time.sleep(60)
        if mode == "error":
            post(f"/invocation/{rid}/error", error)
        else:
            post(f"/invocation/{rid}/response", b'{"statusCode": 200}')


def main() -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--self-test", action="store_true", help="check the emulator and the harness, then exit")
    parser.add_argument("--runs", type=int, default=10, help="runs per function and data dir (default 10)")
    parser.add_argument("--bin-dir", default="target/functions", help="where the function binaries are")
    parser.add_argument("--ship-dir", default="", help="the binaries as shipped, whose sizes are reported (default --bin-dir)")
    parser.add_argument("--out", default="target/bench", help="for startup.md, startup.json and startup-logs/")
    parser.add_argument("--root", default=str(here.parent), help="the repository (template.yaml, events/)")
    parser.add_argument("--modes", default="cold,warm", help="data dirs to measure: cold, warm or both")
    parser.add_argument("--only", default="", help="comma-separated functions to measure (default all)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for an answer")
    parser.add_argument("--command", default="", help="the command line to print in the report")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="one more variable for every function (repeat; an empty value unsets)")
    fakes = ["answer", "error", "init-error", "crash", "hang"]
    parser.add_argument("--fake-function", choices=fakes, help=argparse.SUPPRESS)  # for the self-test
    args = parser.parse_args()
    if args.fake_function:
        return fake_function(args.fake_function)
    if args.self_test:
        check_emulator()
        check_harness()
        check_fixtures(Path(args.root))
        print("self-test passed")
        return 0
    for pair in args.env:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            parser.error(f"--env {pair!r}: want NAME=VALUE")
        EXTRA_ENV[name] = value
    if args.runs < 1 or not set(args.modes.split(",")) <= set(MODES):
        parser.error("--runs must be at least 1 and --modes a list of cold, warm")
    return bench(args)


if __name__ == "__main__":
    sys.exit(main())
