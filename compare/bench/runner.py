"""The run: start every target and baseline, check each main case, then measure round by round."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import signal
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import msgspec

from compare.bench import openloop, scenarios
from compare.bench.config import LAYERS, BenchConfig, MainCase, Part, Scenario, Settings
from compare.bench.load import HttpLoad, Wrk
from compare.bench.system import (
    Pinning,
    Sampler,
    Usage,
    Watch,
    argv,
    machine,
    raise_open_files_limit,
    resume,
    settle,
    signal_groups,
    versions,
    wait_until_idle,
)
from shared.harness.client import check_response, request_kwargs, saved_values
from shared.harness.expected import expected as known_differences
from shared.harness.targets import PROJECT_ROOT, Server, Target, redis_url
from shared.harness.upstream import SERVICE as UPSTREAM
from shared.spec import HttpExpect, HttpStep, Spec, substitute
from shared.spec.variables import builtin_variables

# What each kind of measurement compares, and which way is better.
PRIMARY: dict[str, tuple[str, bool]] = {
    "http": ("rps", True),
    "delay-burst": ("wall_s", False),
    "latency": ("p50_ms", False),
    "rate-ladder": ("capacity_rps", True),
    "interference": ("p99_ms", False),
    "ws-echo": ("msgs_per_s", True),
    "ws-session": ("p50_ms", False),
    "chat": ("p50_ms", False),
    "ws-idle": ("kib_per_connection", False),
}
# Headers httpx adds that a load generator sets itself (or that would only add noise).
CLIENT_HEADERS = {"host", "content-length", "accept", "accept-encoding", "connection", "user-agent"}
# A deployment's app, by the first word of its name.
APPS: dict[str, Literal["aiohttp", "django"]] = {"aiohttp": "aiohttp", "django": "django"}
# The environment of every server the bench starts (as the suite's ServerPool gives its own).
SERVER_ENV = {"WS_PING_INTERVAL": "20", "WS_PING_TIMEOUT": "20"}

type Progress = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    settings: Settings
    behaviours: tuple[str, ...] = ()  # empty: every behaviour bench.toml measures
    scenarios: tuple[str, ...] | None = None  # None: those of the chosen behaviours
    targets: tuple[str, ...] = ()  # targets, baselines and peers; empty: all of them
    peers: Path | None = None  # a checkout of TechEmpower's FrameworkBenchmarks: the peers' code
    pin: bool = True
    note: str = ""  # said in the results (e.g. "a loaded machine")
    # Running deployments, (name, base URL): measured where they are, never started or stopped.
    deployments: tuple[tuple[str, str], ...] = ()
    # The processes that serve a deployment, by its name: the trees whose CPU and RSS are its own.
    deployment_pids: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    # A part of the bench (bench.toml's [parts]): its items instead of behaviours and scenarios.
    part: Part | None = None


@dataclass
class Deployed:
    """A deployment's server (--deployment): it runs already, where the bench cannot see its
    processes (the compose stack's containers), and is left running."""

    base_url: str
    roots: tuple[int, ...] = ()  # its processes (--deployment-pids): read, never signalled
    process: None = None
    companions: tuple[()] = ()
    env: dict[str, str] = field(default_factory=dict)
    running: bool = True

    def stop(self) -> None:
        """Not the bench's to stop."""


@dataclass
class Subject:
    """A target, a baseline or a peer under measurement, with its running server."""

    name: str
    target: Target
    role: Literal["target", "baseline", "peer", "deployment"]
    of: str | None = None  # a baseline's target; a peer's baseline
    only: tuple[str, ...] | None = None  # a baseline or a peer serves only these behaviours
    root: Path = PROJECT_ROOT  # where its command runs: a peer's directory in the checkout
    source: str | None = None  # a peer's Dockerfile, whose command line it runs
    absent: str | None = None  # why it cannot run at all: a peer without its checkout
    server: Server | Deployed | None = None
    unavailable: str | None = None
    env: dict[str, str] = field(default_factory=dict)  # the server's, beside the bench's own
    stale: bool = False  # a measurement left work behind: the next one gets a new server
    registry: Target | None = None  # as targets.toml (or bench.toml's baseline) gives it

    def run_with(self, config: BenchConfig, workers: int) -> None:
        """Its target with `workers` processes (bench.toml's [workers.*]), or why it cannot."""
        assert self.registry is not None
        if self.role == "deployment":  # it runs the processes it was deployed with
            return
        how = config.workers.get(self.name)
        self.target, self.unavailable = self.registry, self.absent
        if self.absent:
            return
        if how is not None and how.own != workers:
            self.target = how.apply(self.registry, workers)
        elif how is None and workers != 1:
            self.unavailable = f"not available with {workers} workers (no way to run them)"

    def pids(self) -> list[int]:
        if self.server is None or self.server.process is None:
            return []
        return [self.server.process.pid, *(c.pid for c in self.server.companions)]

    def serves(self, item: Item) -> bool:
        return self.only is None or (item.kind == "http" and item.behaviour in self.only)


@dataclass(frozen=True)
class Item:
    """One thing measured on every subject: a behaviour's main case, or a scenario."""

    id: str
    behaviour: str
    kind: str
    main: MainCase | None = None
    scenario: Scenario | None = None
    workers: int | None = None  # the scaling pass's: each server with this many processes
    rounds: int = 0  # measured in the run's first `rounds` rounds only; 0: in every round

    @property
    def needs(self) -> frozenset[str]:
        """What a subject must have (what it lacks: expected.toml) for it to be measured."""
        if self.main is not None:
            return self.main.needs
        assert self.scenario is not None
        return self.scenario.needs

    def describe(self) -> str:
        if self.main is not None:
            request = self.main.measured.request
            query = "&".join(f"{k}={v}" for k, v in request.query.items())
            return f"{request.method} {request.path}" + (f"?{query}" if query else "")
        assert self.scenario is not None
        s = self.scenario
        query = "&".join(f"{k}={v}" for k, v in s.query.items())
        where = s.path + (f"?{query}" if query else "")
        match s.kind:
            case "delay-burst":
                return f"{s.concurrency} concurrent GET {where}"
            case "latency":
                return f"GET {where}, {s.concurrency} clients"
            case "rate-ladder":
                rates = ", ".join(f"{r:g}" for r in s.rates)
                return f"GET {where} at {rates} requests/s, open loop"
            case "interference":
                hold = s.hold_path + "?" * bool(s.hold_query)
                hold += "&".join(f"{k}={v}" for k, v in s.hold_query.items())
                what = f"{s.hold_method} {hold}" + (f" at {s.trickle:g} B/s" if s.trickle else "")
                return f"GET {where} at {s.rates[0]:g}/s, open loop, while {s.holders} {what} wait"
            case "ws-echo":
                return f"websocket {where}, {s.connections} connection(s) echoing"
            case "ws-session":
                return f"websocket {where} with a session, {s.connections} client(s) to the hello"
            case "ws-idle":
                return f"websocket {where}, {s.connections:,} connections held open, idle"
            case _:
                layer = f", {s.layer} layer" if s.layer else ""
                return f"websocket {where}: {s.members} members, {s.messages} messages{layer}"


def select_items(config: BenchConfig, spec: Spec, options: Options) -> list[Item]:
    chosen = options.behaviours or tuple(b.id for b in spec.behaviours if b.id in config.main)
    if options.part is not None:  # its behaviours' main cases, none of the others'
        chosen = options.part.behaviours
    unknown = [b for b in chosen if b not in config.main]
    if unknown:
        raise ValueError(f"no main case in {config.path.name} for {', '.join(unknown)}")
    items = [Item(b, b, "http", main=config.main[b]) for b in chosen if config.main[b].steps]
    scaling = config.scaling
    scaled = {
        scaling.item_id(b): Item(
            scaling.item_id(b), b, "http", config.main[b], None, scaling.workers, scaling.rounds
        )
        for b in scaling.behaviours
        if b in chosen and scaling.workers != options.settings.workers
    }
    if options.part is not None:
        wanted = list(options.part.scenarios)
    elif options.scenarios is not None:
        wanted = list(options.scenarios)
    else:
        wanted = [*scaled]
        for behaviour in chosen:
            wanted += config.main[behaviour].scenarios
            wanted += [s.id for s in config.scenarios.values() if s.behaviour == behaviour]
    for scenario_id in dict.fromkeys(wanted):
        if scenario_id in scaled:
            items.append(scaled[scenario_id])
            continue
        if scenario_id not in config.scenarios:
            raise ValueError(f"no scenario {scenario_id!r} in {config.path.name}")
        scenario = config.scenarios[scenario_id]
        items.append(
            Item(scenario.id, scenario.behaviour, scenario.kind, scenario=scenario,
                 rounds=scenario.rounds)
        )  # fmt: skip
    return items


def select_subjects(
    config: BenchConfig, targets: Mapping[str, Target], options: Options
) -> list[Subject]:
    subjects = [
        Subject(name, target, "target", registry=target) for name, target in targets.items()
    ]
    subjects += [
        Subject(name, b.target, "baseline", of=b.of, only=b.behaviours, registry=b.target)
        for name, b in config.baselines.items()
    ]
    for name, peer in config.peers.items():
        root = (options.peers or PROJECT_ROOT) / peer.directory
        subjects.append(
            Subject(name, peer.target, "peer", of=peer.of, only=peer.behaviours, root=root,
                    source=f"{peer.directory}/{peer.dockerfile}", registry=peer.target)
        )  # fmt: skip
    if options.targets or options.deployments:  # deployments alone, unless targets are named
        known = {s.name for s in subjects}
        if unknown := [t for t in options.targets if t not in known]:
            raise ValueError(f"unknown target {unknown[0]!r}; known: {', '.join(sorted(known))}")
        subjects = [s for s in subjects if s.name in options.targets]
    subjects += deployments(
        options.deployments, {s.name for s in subjects}, options.deployment_pids
    )
    for subject in subjects:
        if subject.role == "peer":
            subject.absent = config.peers[subject.name].unavailable(options.peers)
        subject.run_with(config, options.settings.workers)
    return subjects


def deployments(
    given: Sequence[tuple[str, str]],
    taken: set[str],
    pids: Mapping[str, tuple[int, ...]] | None = None,
) -> list[Subject]:
    """A subject for each running deployment, named NAME (its app the name's first word); each
    after the first compared with the first (`of`)."""
    found: list[Subject] = []
    if unknown := set(pids or {}) - {name for name, _ in given}:
        raise ValueError(f"processes of no deployment: {', '.join(sorted(unknown))}")
    for name, url in given:
        app = APPS.get(name.split("-", 1)[0])
        if app is None:
            raise ValueError(f"deployment {name!r}: its name begins with its app (django-...)")
        if name in taken:
            raise ValueError(f"deployment {name!r}: the name is taken")
        taken.add(name)
        target = Target(name, app, f"a running deployment at {url}", ())
        first = found[0].name if found else None
        subject = Subject(name, target, "deployment", of=first, registry=target)
        subject.server = Deployed(url.rstrip("/"), (pids or {}).get(name, ()))
        found.append(subject)
    return found


def concrete_load(
    step: HttpStep,
    variables: Mapping[str, Any],
    base_url: str,
    cookies: httpx.Cookies | None = None,
) -> HttpLoad:
    """The measured request with its variables filled in, as bytes a load generator sends; with
    the cookies the set-up steps got (a session: `me`), as a browser would send them."""
    request = step.request
    kwargs = request_kwargs(request, variables)
    built = httpx.Client(cookies=cookies).build_request(
        request.method, base_url + substitute(request.path, variables), **kwargs
    )
    body = built.read() or None
    headers = {k: v for k, v in built.headers.items() if k.lower() not in CLIENT_HEADERS}
    return HttpLoad(request.method, built.url.raw_path.decode("ascii"), headers, body,
                    step.expect.status)  # fmt: skip


def expected(step: HttpStep, variables: Mapping[str, Any]) -> HttpExpect:
    e = step.expect
    return msgspec.structs.replace(
        e,
        headers=substitute(dict(e.headers), variables),
        text=substitute(e.text, variables),
        json=substitute(e.json, variables),
        json_subset=substitute(e.json_subset, variables),
        error_params=substitute(dict(e.error_params), variables),
    )


def prepare_http(spec: Spec, main: MainCase, base_url: str, timeout: float) -> HttpLoad:
    """Run the set-up steps and the measured one once, each checked against the spec."""
    variables: dict[str, Any] = builtin_variables()
    with httpx.Client(base_url=base_url, timeout=timeout) as client:
        for index, step in enumerate(main.steps):
            path = substitute(step.request.path, variables)
            response = client.request(
                step.request.method, path, **request_kwargs(step.request, variables)
            )
            if index < len(main.steps) - 1 or step.save:
                variables.update(saved_values(step, response))
            try:
                check_response(spec, expected(step, variables), response)
            except AssertionError as error:
                raise AssertionError(f"step {index + 1}: {error}") from None
        return concrete_load(main.measured, variables, base_url, client.cookies)


def prepare_peer(spec: Spec, main: MainCase, base_url: str, timeout: float) -> HttpLoad:
    """A peer's answer to the measured request, once: the status and headers the spec expects;
    its body is its own (TechEmpower's JSON says "Hello, World!"). It has no set-up steps."""
    step, variables = main.measured, builtin_variables()
    e = expected(step, variables)
    expect = HttpExpect(status=e.status, headers=e.headers, header_patterns=e.header_patterns)
    path = substitute(step.request.path, variables)
    with httpx.Client(base_url=base_url, timeout=timeout) as client:
        response = client.request(step.request.method, path,
                                   **request_kwargs(step.request, variables))  # fmt: skip
    check_response(spec, expect, response)
    return concrete_load(step, variables, base_url)


def probe_scenario(scenario: Scenario, base_url: str, timeout: float) -> None:
    """The scenario's endpoint answers (HTTP 200, or a websocket handshake is accepted)."""
    if scenario.kind in ("delay-burst", "latency", "rate-ladder", "interference"):
        query = dict(scenario.query)
        if scenario.kind == "delay-burst":
            query["seconds"] = "0"
        response = httpx.get(base_url + scenario.path, params=query, timeout=timeout)
        if response.status_code != 200:
            raise AssertionError(
                f"GET {scenario.path} answered {response.status_code}: {response.text[:200]!r}"
            )
        return
    import asyncio

    async def handshake() -> None:
        path = scenario.path if scenario.kind != "chat" else f"{scenario.path}-probe"
        cookie = None
        if scenario.kind == "ws-session":
            cookie = await scenarios.session_cookie(base_url, timeout)
        ws = await scenarios.open_ws(base_url, path, timeout, cookie)
        await ws.close()

    try:
        asyncio.run(handshake())
    except Exception as error:
        raise AssertionError(f"websocket {scenario.path}: {error}") from None


@dataclass
class Run:
    """A bench run: subjects, items, and every measurement, as the JSON results hold them."""

    config: BenchConfig
    spec: Spec
    options: Options
    generator: Wrk
    progress: Progress
    workdir: Path
    pinning: Pinning = field(init=False)
    subjects: list[Subject] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    prepared: dict[tuple[str, str], HttpLoad | str] = field(default_factory=dict)
    measurements: list[dict[str, Any]] = field(default_factory=list)
    upstream: Server | None = None
    described: dict[str, Any] = field(default_factory=dict)  # the subjects, before scaling
    open_files: int = 0  # the soft limit of open files, the bench's and its servers'
    scaling: dict[str, Any] = field(default_factory=dict)  # the scaling pass's settings

    def __post_init__(self) -> None:
        self.pinning = Pinning.plan(self.options.settings.workers, self.options.pin)
        if self.options.deployments:  # their processes run where their containers do
            self.pinning = dataclasses.replace(
                Pinning.plan(self.options.settings.workers, enabled=False),
                note="not pinned: a deployment's processes are not the bench's to pin",
            )
        self.main_pinning = self.pinning
        # The scaling pass's: with as many server processes as CPUs, nothing is pinned.
        self.scaled_pinning = Pinning.plan(
            self.config.scaling.workers, self.options.pin, self.pinning.cpus
        )

    # Servers

    def start(self, subject: Subject) -> None:
        if subject.role == "deployment":
            return
        subject.unavailable = subject.unavailable or subject.target.unavailable()
        if subject.unavailable:
            return
        assert self.upstream is not None
        name = subject.name
        env = {
            **SERVER_ENV,
            "DATABASE_URL": f"sqlite:///{self.workdir / f'{name}.sqlite3'}",
            "FILES_DIR": str(self.workdir / f"{name}-files"),
            "REDIS_PREFIX": f"bench-{name}",
            "UPSTREAM_URL": self.upstream.base_url,
            **subject.env,
        }
        log = self.workdir / f"{name}.log"
        server = Server(subject.target, log_path=log, env=env, root=subject.root)
        try:
            with self.pinning.on(self.pinning.server):
                server.start(timeout=60)
        except (RuntimeError, TimeoutError, OSError) as error:
            subject.unavailable = f"did not start: {str(error).splitlines()[0]}"
            return
        subject.server = server
        signal_groups(subject.pids(), signal.SIGSTOP)

    def start_all(self) -> None:
        self.pinning.use_load()
        self.upstream = Server(UPSTREAM, log_path=self.workdir / "upstream.log").start()
        self.start_subjects()

    def start_subjects(self) -> None:
        for subject in self.subjects:
            self.progress(f"starting {subject.name} ({subject.target.server})")
            self.start(subject)
            if subject.unavailable:
                self.progress(f"  {subject.name}: {subject.unavailable}")

    def restart(self, subject: Subject, env: Mapping[str, str] | None = None) -> None:
        """A fresh server for the subject (same database and files), with `env` beside the
        bench's own, stopped until measured; the set-up steps run again, for what a server keeps
        in memory (aiohttp's jobs) is gone."""
        if subject.server is not None:
            signal_groups(subject.pids(), signal.SIGCONT)
            subject.server.stop()
            subject.server = None
            subject.env, subject.stale = dict(env or {}), False
            self.start(subject)
            self.prepare_subject(subject)

    def stop_subjects(self) -> None:
        for subject in self.subjects:
            if subject.server is not None and subject.role != "deployment":
                signal_groups(subject.pids(), signal.SIGCONT)
                subject.server.stop()
                subject.server = None

    def stop_all(self) -> None:
        self.stop_subjects()
        if self.upstream is not None:
            self.upstream.stop()

    # Checks before any load

    def prepare(self) -> None:
        for subject in self.subjects:
            self.prepare_subject(subject)

    def prepare_subject(self, subject: Subject) -> None:
        timeout = self.options.settings.timeout
        if subject.server is not None:
            resume(subject.pids())
            try:
                for item in self.items:
                    if not subject.serves(item):
                        continue
                    key = (item.id, subject.name)
                    lacks = known_differences().lacks(subject.target.name)
                    if lacking := [need for need in lacks if need in item.needs]:
                        self.prepared[key] = NotAvailable(
                            f"{subject.name} lacks {', '.join(lacking)}"
                            " (shared/harness/expected.toml)"
                        )
                        continue
                    if item.scenario is not None and (why := self.no_layer(item, subject)):
                        self.prepared[key] = NotAvailable(why)
                        continue
                    try:
                        if item.main is not None and subject.role == "peer":
                            self.prepared[key] = prepare_peer(
                                self.spec, item.main, subject.server.base_url, timeout
                            )
                        elif item.main is not None:
                            self.prepared[key] = prepare_http(
                                self.spec, item.main, subject.server.base_url, timeout
                            )
                        else:
                            assert item.scenario is not None
                            probe_scenario(item.scenario, subject.server.base_url, timeout)
                            self.prepared[key] = item.describe()
                    except (AssertionError, httpx.HTTPError, OSError, KeyError) as error:
                        first = str(error).splitlines()[0] if str(error) else repr(error)
                        self.prepared[key] = NotAvailable(first[:300])
            finally:
                signal_groups(subject.pids(), signal.SIGSTOP)

    def no_layer(self, item: Item, subject: Subject) -> str | None:
        """Why the subject cannot serve a chat scenario's channel layer, if it cannot."""
        assert item.scenario is not None
        if item.scenario.layer and subject.role == "deployment":
            return "a deployment's channel layer is its own: not set for the scenario"
        match item.scenario.layer:
            case "memory" if "REDIS_URL" in subject.target.env:
                return (
                    f"{subject.name} keeps its rooms in Redis, which its processes share"
                    " (REDIS_URL in shared/harness/targets.toml): measured with the Redis layer"
                )
            case "redis":
                needs = dataclasses.replace(subject.target, requires=("redis",))
                return needs.unavailable()
        return None

    def layer_env(self, item: Item) -> dict[str, str]:
        """The environment a chat scenario's servers need for its channel layer: REDIS_URL set,
        or empty (both apps then keep the rooms in the process); none for any other item."""
        layer = item.scenario.layer if item.scenario is not None else ""
        if layer == "redis":
            return {"REDIS_URL": redis_url()}
        if layer == "memory" and os.environ.get("REDIS_URL"):
            return {"REDIS_URL": ""}
        return {}

    def measurable(self, item: Item, subject: Subject) -> bool:
        """The subject runs and serves the item (a restart for it would be wasted otherwise)."""
        prepared = self.prepared.get((item.id, subject.name))
        return subject.server is not None and not isinstance(prepared, NotAvailable)

    # Measurements

    def measure(self, item: Item, subject: Subject, round_number: int) -> dict[str, Any]:
        """The measurement, once the machine is idle; again while it was disturbed (up to
        `tries`): the record kept is the last try's, with every try's quietness in it."""
        settings = self.options.settings
        tries: list[dict[str, Any]] = []
        for attempt in range(1, settings.tries + 1):
            waited, busy, idle = wait_until_idle(settings.idle_pct, settings.idle_limit)
            record = self.measure_once(item, subject, round_number)
            if record["status"] != "ok":
                return record
            others = record.pop("others_pct")  # None: a deployment's, whose processes are others
            disturbed = not idle or (others is not None and others > settings.max_others_pct)
            primary = record["metrics"].get(PRIMARY[item.kind][0])
            tries.append({
                "try": attempt, "idle_wait_s": waited, "machine_busy_pct": busy, "idle": idle,
                "others_pct": None if others is None else round(others, 1),
                "disturbed": disturbed, "primary": primary,
            })  # fmt: skip
            if not disturbed:
                break
            self.progress(f"  disturbed (try {attempt}/{settings.tries}): {quiet_line(tries[-1])}")
        return {**record, "quiet": {"disturbed": tries[-1]["disturbed"], "tries": tries}}

    def measure_once(self, item: Item, subject: Subject, round_number: int) -> dict[str, Any]:
        record: dict[str, Any] = {
            "item": item.id,
            "behaviour": item.behaviour,
            "kind": item.kind,
            "subject": subject.name,
            "round": round_number,
        }
        if item.workers is not None:
            record["workers"] = item.workers
        if item.kind == "chat" and subject.server is not None:
            # The layer the server was started with, as both apps choose it: by REDIS_URL.
            record["layer"] = "redis" if subject.server.env.get("REDIS_URL") else "memory"
        prepared = self.prepared.get((item.id, subject.name))
        if subject.unavailable or subject.server is None:
            return {**record, "status": "unavailable", "reason": subject.unavailable}
        if isinstance(prepared, NotAvailable):
            return {**record, "status": "unavailable", "reason": f"not available: {prepared}"}
        if not subject.server.running:
            return {**record, "status": "failed", "reason": "the server is no longer running"}
        settings = self.options.settings
        base_url = subject.server.base_url
        resume(subject.pids())
        record["settle_s"] = settle(self.server_roots(subject))
        try:
            if item.kind in ("http", "latency"):
                load = prepared if isinstance(prepared, HttpLoad) else self.scenario_load(item)
                connections = settings.connections
                if item.kind == "latency" and item.scenario is not None:
                    connections = item.scenario.concurrency
                if settings.warmup > 0:
                    self.generator.run(
                        base_url, load, connections, settings.warmup, settings.timeout
                    )
                with Sampler(self.server_roots(subject)) as usage, Watch() as watch:
                    result = self.generator.run(
                        base_url, load, connections, settings.duration, settings.timeout
                    )
                if result.requests == 0 and result.error_count == 0:
                    raise RuntimeError(f"no response within {result.seconds:.1f} s")
                metrics = {
                    "rps": result.rps,
                    **{f"{k}_ms": v for k, v in result.latency_ms.items()},
                }
                if result.requests and self.server_roots(subject):
                    # The server's CPU a response, whatever else the machine ran meanwhile.
                    metrics["cpu_ms_per_request"] = 1000 * usage.cpu_seconds / result.requests
                errors: dict[str, int] | int = result.errors
                seconds, generator_cpu = result.seconds, result.generator_cpu_seconds
                notes: list[str] = []
            elif item.kind == "rate-ladder":
                assert item.scenario is not None
                started, cpu = time.perf_counter(), time.process_time()
                with Sampler(self.server_roots(subject)) as usage, Watch() as watch:
                    steps = self.ladder(item.scenario, subject)
                seconds, generator_cpu = time.perf_counter() - started, time.process_time() - cpu
                bound = item.scenario.bound_ms
                metrics = openloop.ladder_metrics(steps, bound)
                errors = sum(step.errors for step in steps)
                notes = openloop.ladder_notes(steps, bound)
                record["ladder"] = [step.as_dict() for step in steps]
            elif item.kind == "interference":
                assert item.scenario is not None
                scenario, load = item.scenario, self.scenario_load(item)
                hold = HttpLoad.of(scenario.hold_method, scenario.hold_path, scenario.hold_query)
                rate = scenario.rates[0]
                if settings.warmup > 0:
                    openloop.run_step(base_url, load, rate, settings.warmup, settings.timeout)
                started, cpu = time.perf_counter(), time.process_time()
                with Sampler(self.server_roots(subject)) as usage, Watch() as watch:
                    both = openloop.run_beside_held(
                        base_url, load, rate, settings.duration, settings.timeout, hold,
                        scenario.holders, scenario.trickle,
                    )  # fmt: skip
                seconds, generator_cpu = time.perf_counter() - started, time.process_time() - cpu
                metrics, errors = both.metrics(), both.alone.errors + both.beside.errors
                notes = []
                if both.held < both.holders:
                    notes.append(f"{both.holders - both.held} of the {both.holders} held requests"
                                 " ended before the measurement did")  # fmt: skip
                record["steps"] = {"alone": both.alone.as_dict(), "beside": both.beside.as_dict()}
            else:
                assert item.scenario is not None
                roots = self.server_roots(subject)
                if settings.warmup > 0:
                    scenarios.run(
                        item.scenario, base_url, settings.warmup, settings.timeout, True, roots
                    )
                started = time.perf_counter()
                with Sampler(roots) as usage, Watch() as watch:
                    outcome = scenarios.run(
                        item.scenario, base_url, settings.duration, settings.timeout, False, roots
                    )
                seconds = time.perf_counter() - started
                metrics, errors = outcome.metrics, outcome.errors
                generator_cpu, notes = outcome.generator_cpu_seconds, outcome.notes
        except Exception as error:
            return {
                **record,
                "status": "failed",
                "reason": f"{type(error).__name__}: {error}"[:500],
                "traceback": traceback.format_exc()[-2000:],
            }
        finally:
            signal_groups(subject.pids(), signal.SIGSTOP)
        return {
            **record,
            "status": "ok",
            "seconds": round(seconds, 3),
            "metrics": {k: round(v, 3) for k, v in metrics.items()},
            "errors": errors,
            "server": self.usage(subject, usage, seconds),
            "generator_cpu_pct": round(100 * generator_cpu / seconds, 1) if seconds else None,
            "notes": notes,
            "others_pct": (
                None
                if subject.role == "deployment"
                else self.others(watch, usage.cpu_seconds, generator_cpu)
            ),
        }

    @staticmethod
    def usage(subject: Subject, usage: Usage, seconds: float) -> dict[str, float | None]:
        """The server's CPU and peak RSS over the measurement; unknown for a deployment whose
        processes the bench was not given."""
        if isinstance(subject.server, Deployed) and not subject.server.roots:
            return {"cpu_s": None, "cpu_pct": None, "peak_rss_mib": None}
        return {
            "cpu_s": round(usage.cpu_seconds, 3),
            "cpu_pct": round(100 * usage.cpu_seconds / seconds, 1) if seconds else None,
            "peak_rss_mib": round(usage.peak_rss_bytes / 2**20, 1),
        }

    def ladder(self, scenario: Scenario, subject: Subject) -> list[openloop.Step]:
        """Each rate in turn, the server idle before each, up to the first rate that does not
        hold (the ones above it would not either); a warm-up at the lowest rate first."""
        assert subject.server is not None
        settings = self.options.settings
        load, base_url = self.scenario_load_of(scenario), subject.server.base_url
        if settings.warmup > 0:
            openloop.run_step(base_url, load, scenario.rates[0], settings.warmup, settings.timeout)
        steps: list[openloop.Step] = []
        for rate in scenario.rates:
            settle(self.server_roots(subject))
            steps.append(
                openloop.run_step(base_url, load, rate, settings.duration, settings.timeout)
            )
            if not steps[-1].holds(scenario.bound_ms):
                break
        return steps

    def others(self, watch: Watch, server_cpu: float, generator_cpu: float) -> float:
        """The other processes' share of the server's CPUs; of every CPU when nothing is pinned,
        less the load generator's own time too."""
        if self.pinning.server:
            return watch.others_pct(self.pinning.server, server_cpu)
        cpus = range(len(watch.before))
        return watch.others_pct(cpus, server_cpu + generator_cpu)

    def server_roots(self, subject: Subject) -> list[int]:
        assert subject.server is not None
        if isinstance(subject.server, Deployed):  # the processes it was given, if any
            return list(subject.server.roots)
        assert subject.server.process is not None
        return [subject.server.process.pid]

    def scenario_load(self, item: Item) -> HttpLoad:
        assert item.scenario is not None
        return self.scenario_load_of(item.scenario)

    def scenario_load_of(self, scenario: Scenario) -> HttpLoad:
        return HttpLoad.of("GET", scenario.path, scenario.query)

    def rounds(self, items: Sequence[Item], label: str = "") -> None:
        rounds = self.options.settings.rounds
        plan = [
            (r, item, subject)
            for r in range(rounds)
            for item in items
            for subject in rotate([s for s in self.subjects if s.serves(item)], r)
            if not item.rounds or r < item.rounds
        ]
        for index, (r, item, subject) in enumerate(plan, 1):
            env = self.layer_env(item)
            fresh = subject.stale or item.kind == "ws-idle" or env != subject.env
            if fresh and self.measurable(item, subject) and subject.role != "deployment":
                # A new server: the memory earlier load left free in its heap would take in the
                # first connections of ws-idle, and the growth would understate what each costs;
                # a chat's server starts with its channel layer's environment.
                self.restart(subject, env)
            record = self.measure(item, subject, r + 1)
            self.measurements.append(record)
            if item.kind == "chat" and self.measurable(item, subject):
                # A thousand websockets leave work behind (daphne's in-memory channel layer
                # answered nothing in the next round): the next measurement gets a new server.
                subject.stale = True
            where = f"[{index:>{len(str(len(plan)))}}/{len(plan)}] round {r + 1}/{rounds}{label}"
            self.progress(f"{where}  {item.id:<22} {subject.name:<17} {summary_line(record)}")

    def describe_subjects(self) -> dict[str, Any]:
        return {
            s.name: {
                "role": s.role,
                "app": s.target.app,
                "server": s.target.server,
                "of": s.of,
                "command": list(s.target.command),
                "source": s.source,
                **({"url": s.server.base_url} if isinstance(s.server, Deployed) else {}),
                "unavailable": s.unavailable,
            }
            for s in self.subjects
        }

    def scale(self, items: Sequence[Item]) -> None:
        """The scaling pass: every server again with the scaling's workers, unpinned when they
        take every CPU; its items measured in rounds of their own."""
        workers = self.config.scaling.workers
        self.described = self.describe_subjects()
        self.stop_subjects()
        self.pinning = self.scaled_pinning
        self.pinning.use_load()
        self.progress(f"scaling: {workers} worker processes each; {self.pinning.note}")
        for subject in self.subjects:
            subject.run_with(self.config, workers)
            subject.env, subject.stale = {}, False
        self.start_subjects()
        self.scaling = {
            "workers": workers,
            "items": [item.id for item in items],
            "pinning": {
                "server_cpus": list(self.pinning.server),
                "load_cpus": list(self.pinning.load),
                "about": self.pinning.note,
            },
            "subjects": {
                s.name: {"command": list(s.target.command), "unavailable": s.unavailable}
                for s in self.subjects
            },
            "about": SCALING_ABOUT,
        }
        self.prepare()
        self.rounds(items, f" ({workers} workers)")

    def execute(self) -> dict[str, Any]:
        started = now()
        self.open_files = raise_open_files_limit()  # the servers started from here inherit it
        before = machine()
        try:
            self.start_all()
            self.progress("checking each main case against the spec before any load")
            self.prepare()
            self.rounds([item for item in self.items if item.workers is None])
            if scaled := [item for item in self.items if item.workers is not None]:
                self.scale(scaled)
        finally:
            self.stop_all()
        after = machine()
        return self.results(started, before, after)

    def results(
        self, started: str, before: Mapping[str, Any], after: Mapping[str, Any]
    ) -> dict[str, Any]:
        settings = self.options.settings
        return {
            "schema": 2,
            "part": self.options.part.name if self.options.part else None,
            "started": started,
            "finished": now(),
            "note": self.options.note,
            "machine": {**before, "load_average_after": after["load_average"]},
            "versions": versions(),
            "settings": {
                "duration_s": settings.duration,
                "warmup_s": settings.warmup,
                "rounds": settings.rounds,
                "connections": settings.connections,
                "workers": settings.workers,
                "timeout_s": settings.timeout,
                "open_files_limit": self.open_files,
                "generator": {"name": self.generator.name, "about": self.generator.describe()},
                "pinning": {
                    "server_cpus": list(self.main_pinning.server),
                    "load_cpus": list(self.main_pinning.load),
                    "about": self.main_pinning.note,
                },
                **({"scaling": self.scaling} if self.scaling else {}),
                "database": "SQLite, a file per server"
                + ("; a deployment's own" if self.options.deployments else ""),
                "others_paused": (
                    "every other server is stopped (SIGSTOP) while one is measured"
                    if not self.options.deployments
                    else "every other server the bench started is stopped (SIGSTOP) while one is"
                    " measured; a deployment runs on, idle"
                ),
                "settle": "each server is idle (under 10% of a CPU) before it is measured",
                "quiet": {
                    "idle_pct": settings.idle_pct,
                    "idle_limit_s": settings.idle_limit,
                    "max_others_pct": settings.max_others_pct,
                    "tries": settings.tries,
                    "about": QUIET_ABOUT,
                },
                "order": "targets rotate by one place each round",
                "command": argv(),
                "config": str(self.config.path.name),
            },
            "subjects": self.described or self.describe_subjects(),
            "items": [
                {
                    "id": item.id,
                    "behaviour": item.behaviour,
                    "kind": item.kind,
                    "case": item.main.case_id if item.main else None,
                    "request": item.describe(),
                    "primary": PRIMARY[item.kind][0],
                    "higher_is_better": PRIMARY[item.kind][1],
                    "ideal": item.scenario.ideal if item.scenario else None,
                    **({"workers": item.workers} if item.workers is not None else {}),
                    **(
                        {"layer": item.scenario.layer, "layer_about": LAYERS[item.scenario.layer]}
                        if item.scenario and item.scenario.layer
                        else {}
                    ),
                    **({"rounds": item.rounds} if item.rounds else {}),
                    **(
                        {"rates": list(item.scenario.rates), "bound_ms": item.scenario.bound_ms}
                        if item.kind == "rate-ladder" and item.scenario
                        else {}
                    ),
                    "measured": {
                        name: load.describe()
                        for (item_id, name), load in self.prepared.items()
                        if item_id == item.id and isinstance(load, HttpLoad)
                    },
                }
                for item in self.items
            ],
            "measurements": self.measurements,
            "quietness": quietness(self.measurements),
        }


SCALING_ABOUT = (
    "after the other measurements, every server is started again with `workers` processes"
    " (bench.toml's [workers.*]; a server with no way to run them is not available) and the"
    " scaling items, main cases of stateless behaviours, are measured in rounds of their own;"
    " with as many server processes as CPUs nothing is pinned: the servers and the load"
    " generator share every CPU"
)
QUIET_ABOUT = (
    "before each measurement the whole machine is idle (every CPU together under idle_pct percent"
    " busy over 0.5 s, waited for at most idle_limit_s); during it, the other processes' share of"
    " the server's CPUs stays under max_others_pct percent; else it is taken again, up to `tries`"
    " times, and every try is kept"
)


def quietness(measurements: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The run's quietness: quiet when no measurement kept was disturbed; the disturbed ones."""
    kept = [m for m in measurements if "quiet" in m]
    disturbed = [
        f"{m['item']} on {m['subject']}, round {m['round']}"
        for m in kept
        if m["quiet"]["disturbed"]
    ]
    tries = [t for m in kept for t in m["quiet"]["tries"]]
    others = [t["others_pct"] for t in tries if t["others_pct"] is not None]
    return {
        "quiet": bool(kept) and not disturbed,
        "measurements": len(kept),
        "retried": sum(len(m["quiet"]["tries"]) > 1 for m in kept),
        "disturbed": disturbed,
        "max_others_pct": max(others, default=None),
    }


def quiet_line(attempt: Mapping[str, Any]) -> str:
    idle = "idle" if attempt["idle"] else f"not idle after {attempt['idle_wait_s']:g} s"
    line = f"machine {idle} ({attempt['machine_busy_pct']:g}% busy)"
    if attempt["others_pct"] is None:  # a deployment's
        return line
    return f"{line}, other processes {attempt['others_pct']:g}% of the server's CPUs"


class NotAvailable(str):
    """Why an item cannot be measured on a subject (its endpoint is missing or answers wrong)."""


def rotate[T](values: Sequence[T], by: int) -> list[T]:
    if not values:
        return []
    by %= len(values)
    return [*values[by:], *values[:by]]


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def summary_line(record: Mapping[str, Any]) -> str:
    if record["status"] != "ok":
        return f"{record['status']}: {record.get('reason')}"
    metrics = record["metrics"]
    errors = record["errors"]
    count = sum(errors.values()) if isinstance(errors, dict) else errors
    server = record["server"]
    usage = f"server CPU {server['cpu_pct']}%, RSS {server['peak_rss_mib']} MiB"
    if server["cpu_s"] is None:  # a deployment's: not the bench's processes
        usage = "server CPU and RSS not seen"
    match record["kind"]:
        case "http":
            head = f"{metrics['rps']:>9,.0f} req/s  p99 {metrics['p99_ms']:.1f} ms"
        case "latency":
            head = f"p50 {metrics['p50_ms']:.1f} ms  p99 {metrics['p99_ms']:.1f} ms"
        case "rate-ladder":
            head = f"capacity {metrics['capacity_rps']:,.0f} req/s (p99 under the bound)"
        case "interference":
            head = (
                f"p99 {metrics['p99_ms']:.1f} ms beside {metrics['held']:.0f} held"
                f" (alone {metrics['p99_alone_ms']:.1f} ms)"
            )
        case "delay-burst":
            head = f"wall {metrics['wall_s']:.3f} s (ideal {metrics['ideal_s']:g} s)"
        case "ws-echo":
            head = f"{metrics['msgs_per_s']:>9,.0f} msgs/s"
        case "ws-idle":
            head = (
                f"{metrics['kib_per_connection']:,.1f} KiB a connection,"
                f" {metrics['open']:,.0f} of {metrics['connections']:,.0f} open"
            )
        case "ws-session":
            head = (
                f"p50 {metrics['p50_ms']:.1f} ms  p99 {metrics['p99_ms']:.1f} ms"
                f"  {metrics['handshakes_per_s']:,.0f} handshakes/s"
            )
        case _:
            head = (
                f"p50 {metrics['p50_ms']:.1f} ms  p99 {metrics['p99_ms']:.1f} ms"
                f"  {metrics['members']:.0f} members, received {metrics['received_pct']:.1f}%"
            )
    line = f"{head}  errors {count}  {usage}"
    if quiet := record.get("quiet"):
        last = quiet["tries"][-1]
        if last["others_pct"] is not None:
            line += f"  others {last['others_pct']:g}%"
        line += "  DISTURBED" * quiet["disturbed"]
    return line


def execute(
    config: BenchConfig,
    spec: Spec,
    targets: Mapping[str, Target],
    options: Options,
    generator: Wrk,
    progress: Progress = print,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        run = Run(config, spec, options, generator, progress, Path(workdir))
        run.items = select_items(config, spec, options)
        run.subjects = select_subjects(config, targets, options)
        if options.part is not None:  # a part starts only the servers that serve its items
            run.subjects = [s for s in run.subjects if any(s.serves(i) for i in run.items)]
        progress(
            f"{len(run.items)} measurements x {len(run.subjects)} servers x"
            f" {options.settings.rounds} rounds; {run.pinning.note}; {generator.describe()}"
        )
        return run.execute()


def write_json(results: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
