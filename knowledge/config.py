"""Settings, read once from ``STACKWISE_*`` environment variables.

Every tunable lives here so there is one place to look. Paths default to the repository layout:
runtime state under ``var/``, the catalog under ``knowledge/catalog/``, reference data in
``../shared/data`` (copied subsets are not needed at run time once the DB is built).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PREFIX = "STACKWISE_"
REPO_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    return os.environ.get(PREFIX + name, default)


def _env_float(name: str, default: float) -> float:
    raw = _env(name, str(default))
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{PREFIX}{name} must be a number, got {raw!r}") from exc


@dataclass(frozen=True)
class RankWeights:
    """Weights of the hybrid ranker (see knowledge/recommend.py)."""

    semantic: float = 0.55
    lexical: float = 0.15
    skill_gap: float = 0.20
    # Recognition and credit are tie-breakers between equally relevant credentials: at 0.05
    # they outweighed typical relevance gaps (bench/search_quality.py, docs/benchmarks.md).
    recognition: float = 0.02
    credit: float = 0.02
    # A program with a campus within the radius of the learner's place, nearer is higher.
    # 0.15 -> 0.08 at 12k records: in range is already a filter (docs/benchmarks.md).
    local: float = 0.08
    # Soft hints from the learner's words (knowledge/query_plan.py): a place, schedule or Pell
    # only a training program can meet; "cheap" without an amount (known low cost ranks higher).
    kind: float = 0.10
    low_cost: float = 0.10


def _env_list(name: str, default: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in _env(name, default).split(",") if x.strip())


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name, "1" if default else "0").strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{PREFIX}{name} must be 1/0 (true/false), got {raw!r}")


def _networks(name: str, default: str) -> tuple[str, ...]:
    """A comma-separated list of IP addresses or networks (CIDR), checked here."""
    items = _env_list(name, default)
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            raise ValueError(f"{PREFIX}{name}: {item!r} is not an IP address or network") from exc
    return items


LOOPBACK_NETWORKS = "127.0.0.0/8,::1"
# Every catalog source there is (knowledge/sources/); all are loaded unless
# STACKWISE_CATALOG_SOURCES names fewer.
CATALOG_SOURCES = ("curated", "texas-etpl", "careeronestop")


@dataclass(frozen=True)
class Security:
    """Limits on public endpoints and who may use Rasa's HTTP API (docs/architecture.md,
    "Security"). A rate of 0 turns that limit off."""

    # Where Rasa listens. Anything but loopback requires ``rasa_token`` (`stackwise serve`
    # refuses to start without one).
    rasa_host: str = "127.0.0.1"
    # Token for Rasa's HTTP API (``--auth-token``); from the environment only, never printed.
    rasa_token: str | None = field(default=None, repr=False)
    # Requests per minute from one client IP to the public endpoints (web API, chat channels).
    ip_per_min: float = 600.0
    # Chat messages per minute in one conversation (sender / session id).
    session_per_min: float = 30.0
    # Console log-in attempts per minute for one e-mail address, and from one IP.
    login_per_min: float = 10.0
    login_ip_per_min: float = 50.0
    # Clients exempt from the IP and conversation limits (not from the log-in limits): by
    # default loopback, i.e. the web app's own calls to Rasa, benchmarks and local use.
    exempt: tuple[str, ...] = tuple(LOOPBACK_NETWORKS.split(","))
    # Peers whose X-Forwarded-For header names the real client (a reverse proxy in front).
    trusted_proxies: tuple[str, ...] = tuple(LOOPBACK_NETWORKS.split(","))


@dataclass(frozen=True)
class Scaling:
    """Scale-out (`stackwise serve --scaled`, docs/deployment.md). Without a lock store URL,
    the Rasa processes of one machine share lock files (bot/lock_store.MachineLockStore)."""

    # Redis for Rasa's lock store (``redis://[:password@]host:port/db[?key_prefix=name]``);
    # required with more than one Rasa replica.
    lock_store_url: str | None = None
    # Seconds a conversation's lock outlives a replica that died holding it (a live one renews
    # it; bot/lock_store.py).
    lock_lifetime_s: int = 10
    # Rasa replicas with --scaled (2 unless set). The embedded stack's are
    # STACKWISE_LOCAL_RASA_PROCESSES (behind the local proxy, lock files shared).
    rasa_replicas: int = 2
    # Action servers with --scaled (the embedded stack runs one: it is mostly idle).
    action_servers: int = 2
    # Rasa serves from one thread: a second process (behind the local proxy) uses a second core
    # (docs/benchmarks.md). Default: one per core, at most two (~1.5 GB of memory each).
    local_rasa_processes: int = field(default_factory=lambda: default_local_rasa_processes())


def default_local_rasa_processes() -> int:
    """Rasa processes of the embedded stack when STACKWISE_LOCAL_RASA_PROCESSES is not set."""
    return max(1, min(2, os.cpu_count() or 1))


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    database_url: str
    app_database_url: str
    reference_dir: Path
    shared_data_dir: Path
    catalog_dir: Path
    index_dir: Path
    models_dir: Path
    rasa_url: str
    web_host: str
    web_port: int
    rasa_port: int
    actions_port: int
    max_message_chars: int
    encoder_threads: int
    encoder_runtime: str
    tracker_store_url: str
    retention_days: int
    weights: RankWeights = field(default_factory=RankWeights)
    # The socket.io URL browsers use when Rasa is behind a proxy (default: this host, Rasa's port).
    public_socket_url: str | None = None
    # False: the widget uses REST (/api/chat) only.
    widget_sockets: bool = True
    security: Security = field(default_factory=Security)
    scaling: Scaling = field(default_factory=Scaling)
    # Catalog sources the build loads (knowledge/sources/): a college can run with its own
    # files only (``curated`` with STACKWISE_CATALOG_DIR pointing at them).
    catalog_sources: tuple[str, ...] = CATALOG_SOURCES

    @property
    def onnx_encoder_path(self) -> Path | None:
        """The encoder's ONNX export (``stackwise build``), or None when ONNX is turned off."""
        if self.encoder_runtime != "onnx":
            return None
        from knowledge.embed import onnx_path_for

        return onnx_path_for(self.var_dir / "encoder")

    @property
    def patterns_path(self) -> Path:
        """Skill patterns compiled from the taxonomy by ``stackwise build``."""
        return self.var_dir / "skill_patterns.json"


def _catalog_sources() -> tuple[str, ...]:
    names = _env_list("CATALOG_SOURCES", ",".join(CATALOG_SOURCES))
    unknown = [n for n in names if n not in CATALOG_SOURCES]
    if unknown or not names:
        raise ValueError(
            f"{PREFIX}CATALOG_SOURCES must name one or more of {', '.join(CATALOG_SOURCES)}, "
            f"got {_env('CATALOG_SOURCES', '')!r}"
        )
    return tuple(dict.fromkeys(names))


def _default_shared() -> Path:
    return REPO_ROOT.parent / "shared" / "data"


def _default_reference() -> Path:
    return REPO_ROOT / "knowledge" / "reference"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    var_dir = Path(_env("VAR_DIR", str(REPO_ROOT / "var"))).resolve()
    weights = RankWeights(
        semantic=_env_float("WEIGHT_SEMANTIC", RankWeights.semantic),
        lexical=_env_float("WEIGHT_LEXICAL", RankWeights.lexical),
        skill_gap=_env_float("WEIGHT_SKILL_GAP", RankWeights.skill_gap),
        recognition=_env_float("WEIGHT_RECOGNITION", RankWeights.recognition),
        credit=_env_float("WEIGHT_CREDIT", RankWeights.credit),
        local=_env_float("WEIGHT_LOCAL", RankWeights.local),
        kind=_env_float("WEIGHT_KIND", RankWeights.kind),
        low_cost=_env_float("WEIGHT_LOW_COST", RankWeights.low_cost),
    )
    rasa_port = int(_env("RASA_PORT", "5005"))
    return Settings(
        var_dir=var_dir,
        database_url=_env("DATABASE_URL", f"sqlite:///{var_dir / 'stackwise.db'}"),
        # Operational data (intake records): never dropped by a knowledge rebuild.
        app_database_url=_env("APP_DATABASE_URL", f"sqlite:///{var_dir / 'app.db'}"),
        # O*NET / ESCO / BLS subsets vendored into the repo (see NOTICE); the build reads these.
        reference_dir=Path(_env("REFERENCE_DIR", str(_default_reference()))).resolve(),
        # The full shared data sets; only the benchmarks read from here (evaluation sets).
        shared_data_dir=Path(_env("SHARED_DATA_DIR", str(_default_shared()))).resolve(),
        catalog_dir=Path(_env("CATALOG_DIR", str(REPO_ROOT / "knowledge" / "catalog"))).resolve(),
        index_dir=Path(_env("INDEX_DIR", str(var_dir / "index"))).resolve(),
        models_dir=Path(_env("MODELS_DIR", str(REPO_ROOT / "models"))).resolve(),
        rasa_url=_env("RASA_URL", f"http://127.0.0.1:{rasa_port}"),
        web_host=_env("WEB_HOST", "127.0.0.1"),
        web_port=int(_env("WEB_PORT", "8000")),
        rasa_port=rasa_port,
        actions_port=int(_env("ACTIONS_PORT", "5055")),
        max_message_chars=int(_env("MAX_MESSAGE_CHARS", "2000")),
        # Torch threads for query encoding in servers. One thread does not stall when the other
        # core is busy serving requests (measured in docs/benchmarks.md).
        encoder_threads=int(_env("ENCODER_THREADS", "1")),
        # "onnx": one text at a time (chat messages, search queries) on ONNX Runtime when the
        # export from `stackwise build` matches torch (knowledge/embed.py); "torch": never.
        encoder_runtime=_env("ENCODER_RUNTIME", "onnx"),
        # Rasa's conversation events (bot/tracker_store.py); PostgreSQL when Rasa is scaled out.
        tracker_store_url=_env("TRACKER_STORE_URL", f"sqlite:///{var_dir / 'tracker.db'}"),
        # Conversations, intake records and log lines older than this are purged
        # (`stackwise privacy purge`, daily under `stackwise serve`); 0 turns the purge off.
        retention_days=int(_env("RETENTION_DAYS", "365")),
        weights=weights,
        public_socket_url=_env("PUBLIC_SOCKET_URL", "").strip().rstrip("/") or None,
        widget_sockets=_env_bool("WIDGET_SOCKETS", True),
        security=_security(),
        scaling=_scaling(),
        catalog_sources=_catalog_sources(),
    )


def _scaling() -> Scaling:
    counts = {}
    for name, env, default in (
        ("lock_lifetime_s", "LOCK_LIFETIME", Scaling.lock_lifetime_s),
        ("rasa_replicas", "RASA_REPLICAS", Scaling.rasa_replicas),
        ("local_rasa_processes", "LOCAL_RASA_PROCESSES", default_local_rasa_processes()),
        ("action_servers", "ACTION_SERVERS", Scaling.action_servers),
    ):
        raw = _env(env, str(default))
        if not raw.strip().isdigit() or int(raw) < 1:
            raise ValueError(f"{PREFIX}{env} must be a whole number >= 1, got {raw!r}")
        counts[name] = int(raw)
    return Scaling(lock_store_url=_env("LOCK_STORE_URL", "").strip() or None, **counts)


def _security() -> Security:
    rates = {
        name: _env_float(env, default)
        for name, env, default in (
            ("ip_per_min", "RATE_LIMIT_IP_PER_MIN", Security.ip_per_min),
            ("session_per_min", "RATE_LIMIT_SESSION_PER_MIN", Security.session_per_min),
            ("login_per_min", "RATE_LIMIT_LOGIN_PER_MIN", Security.login_per_min),
            ("login_ip_per_min", "RATE_LIMIT_LOGIN_IP_PER_MIN", Security.login_ip_per_min),
        )
    }
    for name, value in rates.items():
        if value < 0:
            raise ValueError(f"rate limit {name} must be >= 0 (0 turns it off), got {value}")
    return Security(
        rasa_host=_env("RASA_HOST", "127.0.0.1").strip() or "127.0.0.1",
        rasa_token=_env("RASA_TOKEN", "") or None,
        exempt=_networks("RATE_LIMIT_EXEMPT", LOOPBACK_NETWORKS),
        trusted_proxies=_networks("TRUSTED_PROXIES", LOOPBACK_NETWORKS),
        **rates,
    )
