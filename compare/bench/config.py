"""bench.toml, typed: each behaviour's main case, the scenarios, baselines and workers."""

from __future__ import annotations

import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

import msgspec

from shared.harness.targets import Target
from shared.spec import HttpCase, HttpExpect, HttpRequest, HttpStep, Spec

BENCH_PATH = Path(__file__).with_name("bench.toml")
# A chat scenario's channel layer: where the rooms' members are kept. Both apps choose by
# REDIS_URL (django_app's settings, aiohttp_app's rooms), which the bench sets for the scenario.
LAYERS = {
    "memory": "in-memory layer (Channels' InMemoryChannelLayer; aiohttp's rooms in the process)",
    "redis": "Redis layer (channels_redis's RedisPubSubChannelLayer; aiohttp's rooms over Redis"
    " pub/sub)",
}
SCENARIO_KINDS = (
    "delay-burst", "latency", "rate-ladder", "interference", "ws-echo", "ws-session", "chat",
    "ws-idle",
)  # fmt: skip
type ScenarioKind = Literal[
    "delay-burst", "latency", "rate-ladder", "interference", "ws-echo", "ws-session", "chat",
    "ws-idle",
]  # fmt: skip


class BenchConfigError(ValueError):
    """A malformed compare/bench/bench.toml: the message names the file and the entry."""


@dataclass(frozen=True)
class Settings:
    duration: float = 5.0
    warmup: float = 1.0
    rounds: int = 5
    connections: int = 64
    workers: int = 1
    timeout: float = 10.0
    # Quiet-machine discipline: bench.toml's [settings] says what each means.
    idle_pct: float = 5.0
    idle_limit: float = 120.0
    max_others_pct: float = 3.0
    tries: int = 3


@dataclass(frozen=True)
class MainCase:
    """What is measured for a behaviour: steps of a spec case (set-up, then the measured one)."""

    behaviour: str
    case_id: str | None  # `items-1`; None for a request of bench.toml's own
    steps: tuple[HttpStep, ...]  # the last one is measured, the ones before run once
    scenarios: tuple[str, ...] = ()
    needs: frozenset[str] = frozenset()  # the spec case's: a target that lacks one is not measured

    @property
    def measured(self) -> HttpStep:
        return self.steps[-1]

    @property
    def setup(self) -> tuple[HttpStep, ...]:
        return self.steps[:-1]


@dataclass(frozen=True)
class Scenario:
    id: str
    behaviour: str
    kind: ScenarioKind
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    concurrency: int = 1
    ideal: float | None = None
    connections: int = 1
    message_bytes: int = 32
    members: int = 0
    messages: int = 0
    rates: tuple[float, ...] = ()  # rate-ladder: the arrival rates, requests/s
    bound_ms: float = 50.0  # rate-ladder: the p99 a rate must stay under to count
    # interference: `holders` requests of hold_path held open while `path` is sent at rates[0]
    hold_path: str = ""
    hold_query: Mapping[str, str] = field(default_factory=dict)
    holders: int = 0
    hold_method: str = "GET"
    trickle: float = 0.0  # interference: the holders are slow uploads of this many bytes/s
    rounds: int = 0  # measured in the run's first `rounds` rounds only; 0: in every round
    layer: str = ""  # chat: a key of LAYERS, the channel layer its servers are started with
    # The plan's estimate only: seconds a measurement takes beyond its warm-up and duration
    # (handshakes, joins, a burst's own time), from runs on this machine.
    overhead_s: float = 0.0

    @property
    def needs(self) -> frozenset[str]:
        """What a target must have (what it lacks: expected.toml) for it to be measured."""
        if self.kind in ("ws-echo", "ws-session", "chat", "ws-idle"):
            return frozenset({"websocket"})
        overlap = self.concurrency > 1 or self.holders > 0
        return frozenset({"overlap"}) if overlap else frozenset()


@dataclass(frozen=True)
class Baseline:
    target: Target
    of: str | None  # the target it is compared with; None: a configuration no target has
    behaviours: tuple[str, ...]


@dataclass(frozen=True)
class Peer:
    """Another project's implementation, the bar for a baseline: run from a checkout the user
    gives (never committed here), in `directory`, with the command line of its `dockerfile`."""

    target: Target
    of: str | None  # the baseline it is the bar for
    behaviours: tuple[str, ...]
    directory: str  # in the checkout: where the command runs
    dockerfile: str  # in `directory`: whose CMD the command follows
    connects: tuple[str, ...] = ()  # host:port it connects to as it starts (a database)

    def unavailable(self, checkout: Path | None) -> str | None:
        """Why it cannot run here: no checkout, not in it, or a service it needs not answering."""
        if checkout is None:
            return (
                "no TechEmpower checkout: give --peers DIR or set TECHEMPOWER_DIR"
                " (docs/measurements.md)"
            )
        if not (checkout / self.directory / self.dockerfile).is_file():
            return f"{checkout / self.directory / self.dockerfile} not found"
        for address in self.connects:
            host, _, port = address.rpartition(":")
            try:
                socket.create_connection((host, int(port)), timeout=2).close()
            except OSError as error:
                return (
                    f"it connects to {address} as it starts, which does not answer here"
                    f" ({error}; docs/measurements.md)"
                )
        return None


@dataclass(frozen=True)
class Workers:
    """How a server runs N processes: options appended to its command, or a command of its own;
    `own`: how many its registry command runs (the recipe applies whenever N differs)."""

    append: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    own: int = 1

    def apply(self, target: Target, workers: int) -> Target:
        def fill(argv: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(arg.replace("{workers}", str(workers)) for arg in argv)

        command = fill(self.command) if self.command else target.command + fill(self.append)
        return replace(target, command=command)


@dataclass(frozen=True)
class Scaling:
    """The scaling pass: `behaviours`' main cases again, each server with `workers` processes."""

    workers: int = 2
    behaviours: tuple[str, ...] = ()
    rounds: int = 0  # measured in the run's first `rounds` rounds only; 0: in every round

    def item_id(self, behaviour: str) -> str:
        return f"{behaviour}-{self.workers}-workers"


@dataclass(frozen=True)
class Part:
    """A part of the bench, a run of its own short enough for a quiet hour (`--part NAME`): the
    main cases of `behaviours`, and `scenarios` (scaling items too, as json-2-workers)."""

    name: str
    about: str
    behaviours: tuple[str, ...]
    scenarios: tuple[str, ...]


@dataclass(frozen=True)
class BenchConfig:
    path: Path
    settings: Settings
    main: Mapping[str, MainCase]
    scenarios: Mapping[str, Scenario]
    baselines: Mapping[str, Baseline]
    peers: Mapping[str, Peer]
    workers: Mapping[str, Workers]
    raw: Mapping[str, Any]  # the file as parsed, for sections read elsewhere (asgi-cost)
    scaling: Scaling = Scaling()
    parts: Mapping[str, Part] = field(default_factory=dict)

    def part_of(self, item: str) -> str | None:
        """The part whose run measures `item` (a behaviour's main case, a scenario)."""
        return next(
            (p.name for p in self.parts.values() if item in (*p.behaviours, *p.scenarios)), None
        )


def _fail(path: Path, where: str, problem: str) -> BenchConfigError:
    return BenchConfigError(f"{path}: {where}: {problem}")


def find_case(spec: Spec, case_id: str) -> HttpCase:
    behaviour_id, _, number = case_id.rpartition("-")
    behaviour = spec.behaviour(behaviour_id)
    case = behaviour.cases[int(number) - 1]
    if not isinstance(case, HttpCase):
        raise TypeError(f"{case_id} is a websocket case")
    return case


def _main_case(path: Path, spec: Spec, behaviour: str, entry: Mapping[str, Any]) -> MainCase:
    where = f"main.{behaviour}"
    unknown = set(entry) - {"case", "name", "step", "query", "request", "status", "scenarios"}
    if unknown:
        raise _fail(path, where, f"unknown field {sorted(unknown)[0]!r}")
    scenarios = tuple(entry.get("scenarios", ()))
    if "name" in entry:
        cases = spec.behaviour(behaviour).cases
        numbers = [i for i, case in enumerate(cases) if case.name == entry["name"]]
        if not numbers:
            raise _fail(path, f"{where}.name", f"{behaviour} has no case named {entry['name']!r}")
        entry = {**entry, "case": f"{behaviour}-{numbers[0] + 1}"}
    if "case" in entry:
        try:
            case = find_case(spec, entry["case"])
        except (KeyError, ValueError, IndexError, TypeError) as error:
            raise _fail(
                path, f"{where}.case", f"no HTTP case {entry['case']!r} ({error})"
            ) from None
        count = int(entry.get("step", len(case.steps)))
        if not 1 <= count <= len(case.steps):
            raise _fail(path, f"{where}.step", f"{entry['case']} has {len(case.steps)} steps")
        steps = case.steps[:count]
        if "query" in entry:
            last = steps[-1]
            # Another query means another answer: only its status is checked then.
            request = msgspec.structs.replace(
                last.request, query={**last.request.query, **entry["query"]}
            )
            expect = HttpExpect(status=last.expect.status)
            steps = (*steps[:-1], msgspec.structs.replace(last, request=request, expect=expect))
        return MainCase(behaviour, entry["case"], steps, scenarios, case.needs)
    if "request" in entry:
        request = entry["request"]
        step = HttpStep(
            request=HttpRequest(
                method=request.get("method", "GET"),
                path=request["path"],
                query=dict(request.get("query", {})),
                headers=dict(request.get("headers", {})),
            ),
            expect=HttpExpect(status=int(entry.get("status", 200))),
        )
        return MainCase(behaviour, None, (step,), scenarios)
    if not scenarios:
        raise _fail(path, where, "give `case`, `request` or `scenarios`")
    return MainCase(behaviour, None, (), scenarios)


def layer(path: Path, where: str, name: str) -> str:
    if name and name not in LAYERS:
        raise _fail(path, f"{where}.layer", f"must be one of {', '.join(LAYERS)}")
    return name


def _scenario(path: Path, entry: Mapping[str, Any]) -> Scenario:
    where = f"scenario {entry.get('id', '?')!r}"
    try:
        kind = entry["kind"]
        if kind not in SCENARIO_KINDS:
            raise _fail(path, f"{where}.kind", f"must be one of {', '.join(SCENARIO_KINDS)}")
        return Scenario(
            id=entry["id"],
            behaviour=entry["behaviour"],
            kind=cast(ScenarioKind, kind),
            path=entry["path"],
            query=dict(entry.get("query", {})),
            concurrency=int(entry.get("concurrency", 1)),
            ideal=float(entry["ideal"]) if "ideal" in entry else None,
            connections=int(entry.get("connections", 1)),
            message_bytes=int(entry.get("message_bytes", 32)),
            members=int(entry.get("members", 0)),
            messages=int(entry.get("messages", 0)),
            rates=tuple(float(r) for r in entry.get("rates", ())),
            bound_ms=float(entry.get("bound_ms", 50.0)),
            hold_path=entry.get("hold_path", ""),
            hold_query=dict(entry.get("hold_query", {})),
            holders=int(entry.get("holders", 0)),
            hold_method=entry.get("hold_method", "GET"),
            trickle=float(entry.get("trickle", 0.0)),
            rounds=int(entry.get("rounds", 0)),
            layer=layer(path, where, entry.get("layer", "")),
            overhead_s=float(entry.get("overhead_s", 0.0)),
        )
    except KeyError as error:
        raise _fail(path, where, f"missing field {error}") from None


def parse(path: Path, text: str, spec: Spec) -> BenchConfig:
    data = tomllib.loads(text)
    known_ids = {b.id for b in spec.behaviours}
    settings = Settings(**data.get("settings", {}))
    scenarios = {s.id: s for s in (_scenario(path, e) for e in data.get("scenario", []))}
    main: dict[str, MainCase] = {}
    for behaviour, entry in data.get("main", {}).items():
        if behaviour not in known_ids:
            raise _fail(path, f"main.{behaviour}", "no such behaviour in the spec")
        main[behaviour] = _main_case(path, spec, behaviour, entry)
        for scenario_id in main[behaviour].scenarios:
            if scenario_id not in scenarios:
                raise _fail(path, f"main.{behaviour}.scenarios", f"no scenario {scenario_id!r}")
    for scenario in scenarios.values():
        if scenario.behaviour not in known_ids:
            raise _fail(path, f"scenario {scenario.id!r}.behaviour", "no such behaviour")
    baselines = {
        name: Baseline(_target(name, entry), entry.get("of"), tuple(entry.get("behaviours", ())))
        for name, entry in data.get("baseline", {}).items()
    }
    peers = {
        name: Peer(
            target=_target(name, entry),
            of=entry.get("of"),
            behaviours=tuple(entry.get("behaviours", ())),
            directory=entry["directory"],
            dockerfile=entry["dockerfile"],
            connects=tuple(entry.get("connects", ())),
        )
        for name, entry in data.get("peer", {}).items()
    }
    workers = {
        name: Workers(
            tuple(entry.get("append", ())), tuple(entry.get("command", ())), entry.get("own", 1)
        )
        for name, entry in data.get("workers", {}).items()
    }
    entry = data.get("scaling", {})
    scaling = Scaling(
        int(entry.get("workers", 2)),
        tuple(entry.get("behaviours", ())),
        int(entry.get("rounds", 0)),
    )
    for behaviour in scaling.behaviours:
        if behaviour not in main or not main[behaviour].steps:
            raise _fail(path, "scaling.behaviours", f"{behaviour!r} has no HTTP main case")
    parts = {
        name: _part(path, name, entry, main, scenarios, scaling)
        for name, entry in data.get("parts", {}).items()
    }
    return BenchConfig(
        path, settings, main, scenarios, baselines, peers, workers, data, scaling, parts
    )


def _part(
    path: Path,
    name: str,
    entry: Mapping[str, Any],
    main: Mapping[str, MainCase],
    scenarios: Mapping[str, Scenario],
    scaling: Scaling,
) -> Part:
    """A [parts.NAME] entry, checked: its behaviours have HTTP main cases, its scenarios exist, and
    a scaling item is measured in the run of the main case it is set beside."""
    where = f"parts.{name}"
    if unknown := set(entry) - {"about", "behaviours", "scenarios"}:
        raise _fail(path, where, f"unknown field {sorted(unknown)[0]!r}")
    part = Part(name, entry.get("about", ""), tuple(entry.get("behaviours", ())),
                tuple(entry.get("scenarios", ())))  # fmt: skip
    for behaviour in part.behaviours:
        if behaviour not in main or not main[behaviour].steps:
            raise _fail(path, f"{where}.behaviours", f"{behaviour!r} has no HTTP main case")
    scaled = {scaling.item_id(b): b for b in scaling.behaviours}
    for scenario in part.scenarios:
        if scenario not in scenarios and scenario not in scaled:
            raise _fail(path, f"{where}.scenarios", f"no scenario {scenario!r}")
        if scenario in scaled and scaled[scenario] not in part.behaviours:
            raise _fail(
                path,
                f"{where}.scenarios",
                f"{scenario} is set beside {scaled[scenario]}'s main case: the same part's",
            )
    return part


def _target(name: str, entry: Mapping[str, Any]) -> Target:
    """A baseline's or a peer's server, started as a target is."""
    return Target(
        name=name,
        app=entry["app"],
        server=entry["server"],
        command=tuple(entry["command"]),
        env=dict(entry.get("env", {})),
    )


def load(spec: Spec, path: Path = BENCH_PATH) -> BenchConfig:
    return parse(path, path.read_text(encoding="utf-8"), spec)


def parted(config: BenchConfig) -> dict[str, list[str]]:
    """Every item of the whole bench (main cases, scenarios, scaling items) with the parts that
    name it: each must be in exactly one."""
    scaling = config.scaling
    items = [
        *(b for b, main in config.main.items() if main.steps),
        *config.scenarios,
        *(scaling.item_id(b) for b in scaling.behaviours),
    ]
    return {
        item: [p.name for p in config.parts.values() if item in (*p.behaviours, *p.scenarios)]
        for item in items
    }


def unmeasured(config: BenchConfig, spec: Spec) -> list[str]:
    """Behaviours of the spec that bench.toml gives no main case or scenario."""
    return [b.id for b in spec.behaviours if b.id not in config.main]
