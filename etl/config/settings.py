"""Process settings: where the working folders are, which stores exist, how Norce is reached.

Settings come from an optional TOML file (`etl.toml` in the home folder, or the path
given with `--config` or in ETL_CONFIG). Secrets never live in that file: a store or Norce
names an environment variable (`password_env`) or a file (`password_file`) and the loader
resolves it into a `SecretStr`. With no file at all the embedded default applies: the
contracts and sample ERP files shipped in the package (`etl.embedded`), Norce payloads
written to `outbox/`.

Home, where state/, inbox/, outbox/ and archive/ live: `--home`, else ERP_NORCE_ETL_HOME,
else the settings file's `home` (relative to that file; absent: the file's own folder), else,
with no settings file, the current directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, model_validator

from etl.config.alert_settings import AlertSettings, defer_channel_secrets
from etl.config.state_settings import STATE_SECRETS, StateSettings
from etl.config.storage_settings import STORAGE_SECRETS, StorageSettings
from etl.config.toml import Strict, read_toml, validated
from etl.config.worker_settings import WORKER_SECRETS, WorkerSettings
from etl.embedded import SAMPLES, SCHEMAS
from etl.errors import ConfigError
from etl.peppol_ids import endpoint_problem  # plain checksums: imports nothing of ours

DEFAULT_SETTINGS_FILE = "etl.toml"
# A plain CSV file of at least this many bytes is read in batches (etl.read.batched); smaller
# files are read whole, where a batch's size saves nothing.
BATCHED_FROM_BYTES = 64 << 20
HOME_ENV = "ERP_NORCE_ETL_HOME"  # the environment's --home


class LocalStoreSettings(Strict):
    """A folder on this machine that stands in for an SFTP server."""

    kind: Literal["local"] = "local"
    root: Path
    read_only: bool = False  # files are never moved after commit; the ledger dedupes


class SftpStoreSettings(Strict):
    """An SFTP server with a pinned host key; key or password auth."""

    kind: Literal["sftp"] = "sftp"
    host: str
    port: int = Field(default=22, ge=1, le=65535)
    username: str
    root: str = "."  # folder on the server that store paths are relative to
    known_hosts: Path | None = None
    host_key_fingerprint: str | None = None  # "SHA256:..." as `ssh-keygen -lf` prints it
    key_file: Path | None = None
    password: SecretStr | None = None  # resolved from password_env / password_file
    key_passphrase: SecretStr | None = None  # resolved from key_passphrase_env / _file
    timeout_seconds: float = Field(default=30.0, gt=0)
    read_only: bool = False


StoreSettings = Annotated[LocalStoreSettings | SftpStoreSettings, Field(discriminator="kind")]


class NorceSettings(Strict):
    """How payloads reach Norce Commerce Connect."""

    mode: Literal["file", "http"] = "file"
    base_url: str | None = None  # https://{slug}.api-se[.playground].norce.tech
    connect_path: str = "/commerce/connect/4.0"
    token_path: str = "/identity/1.0/connect/token"  # noqa: S105 (a URL path, not a secret)
    client_id: str | None = None
    client_secret: SecretStr | None = None  # resolved from client_secret_env / _file
    scope: str = "playground"  # playground | stage | prod
    application_id: int | None = None
    account_id: int = 1
    chunk_size: int = Field(default=1000, ge=1, le=100_000)
    request_timeout_seconds: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    backoff_seconds: float = Field(default=2.0, ge=0)
    job_poll_seconds: float = Field(default=5.0, ge=0)
    job_timeout_seconds: float = Field(default=3600.0, gt=0)


class EventSettings(Strict):
    """Norce Event webhooks the receiver takes (reference section 17): customer and company changes.

    Norce posts each event to `<path>/<EventType>` with the static headers set in Norce
    Admin (Integration -> Event); one of them carries the token. Without a token the event
    paths are not served.
    """

    path: str = Field(default="/events", pattern=r"^/[A-Za-z0-9/_-]*$")
    header: str = Field(default="Authorization", pattern=r"^[A-Za-z0-9-]{1,64}$")
    token: SecretStr | None = None  # resolved from token_env / token_file


class ConsoleSettings(Strict):
    """The read-only overview page and /metrics on the receiver (etl.console); off by default.

    Both are served only when a password is set (password_env or password_file), behind
    Basic auth with these credentials, apart from the OrderRequest endpoint's own.
    """

    path: str = Field(default="/console", pattern=r"^/[A-Za-z0-9/_-]*[A-Za-z0-9_-]$")
    username: str = "operator"
    password: SecretStr | None = None  # resolved from password_env / password_file
    metrics: bool = False  # serve /metrics (Prometheus text format) as well
    metrics_path: str = Field(default="/metrics", pattern=r"^/[A-Za-z0-9/_-]*[A-Za-z0-9_-]$")
    alerts_shown: int = Field(default=20, ge=1, le=500)


class ReceiverSettings(Strict):
    """`run.py receive`: the endpoint Norce pushes OrderRequests to (REST, Basic auth)."""

    host: str = "127.0.0.1"  # put TLS in front (see README) before opening it to the world
    port: int = Field(default=8080, ge=1, le=65535)
    path: str = Field(default="/orders", pattern=r"^/[A-Za-z0-9/_-]*$")
    username: str = "norce"
    password: SecretStr | None = None  # resolved from password_env / password_file; required
    max_body_bytes: int = Field(default=2 * 1024**2, ge=1024)
    # Against abuse (etl.receiver.guarded_server): the whole request head, the whole body, and
    # connections at once (fewer if the process's file descriptor limit is lower).
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    max_connections: int = Field(default=256, ge=1)
    tls_certfile: Path | None = None  # optional: let uvicorn terminate TLS itself
    tls_keyfile: Path | None = None
    # Fault injection for kill tests: wait after the spool and ledger, before answering.
    pause_before_answer_seconds: float = Field(default=0.0, ge=0)
    events: EventSettings = EventSettings()
    console: ConsoleSettings = ConsoleSettings()

    @model_validator(mode="after")
    def _paths_apart(self) -> ReceiverSettings:
        orders = self.path.rstrip("/")
        if self.events.path.rstrip("/") == orders:
            raise ValueError("events.path must differ from path (the OrderRequest endpoint)")
        taken = {orders, self.events.path.rstrip("/")}
        if {self.console.path, self.console.metrics_path} & taken:
            raise ValueError("console.path and console.metrics_path must differ from the others")
        return self


class SellerSettings(Strict):
    """The shop as the seller in order files: layouts read it as `Seller.Name` and the like.

    The PEPPOL layout needs a real endpoint (an EAS scheme and an id that passes its
    checksum) and a postal address. The embedded default is an obviously made-up shop.
    """

    name: str | None = None
    endpoint_id: str | None = None  # e.g. your organisation number
    endpoint_scheme: str | None = Field(default=None, pattern=r"^\d{4}$")  # EAS: 0007, 0088...
    legal_id: str | None = None  # the legal registration (organisation) number
    legal_id_scheme: str | None = Field(default=None, pattern=r"^\d{4}$")
    vat_no: str | None = None
    street: str | None = None
    additional_street: str | None = None
    city: str | None = None
    postal_zone: str | None = None
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")

    @model_validator(mode="after")
    def _endpoint_valid(self) -> SellerSettings:
        # Checked at start-up: a wrong shop endpoint would make every PEPPOL file invalid.
        if self.endpoint_id is None or self.endpoint_scheme is None:
            return self  # a layout naming one that is not set does not start (etl.to_erp.files.layouts)
        problem = endpoint_problem(self.endpoint_scheme, self.endpoint_id)
        if problem is not None:
            raise ValueError(f"endpoint_id {problem}")
        return self


def _sample_seller() -> SellerSettings:
    """The embedded default's shop: a valid but made-up Swedish organisation number."""
    return SellerSettings(
        name="Example Shop AB",
        endpoint_id="5560000001",
        endpoint_scheme="0007",
        legal_id="5560000001",
        legal_id_scheme="0007",
        vat_no="SE556000000101",
        street="Exempelgatan 1",
        city="Stockholm",
        postal_zone="11122",
        country="SE",
    )


class OrderSettings(Strict):
    """Orders, Norce -> ERP: how they arrive and what is checked before they go out."""

    source: Literal["push", "poll", "both"] = "push"
    # Currencies the shop sells in; an order in any other is held for an operator.
    currencies: tuple[str, ...] = ("SEK", "NOK", "DKK", "EUR")
    poll_status_ids: tuple[int, ...] = (0, 2)  # Query StatusId values worth exporting
    poll_safety_lap_hours: float = Field(default=3.0, ge=0)
    poll_page_size: int = Field(default=500, ge=1, le=500)
    poll_interval_minutes: float = Field(default=5.0, gt=0)
    query_path: str = "/commerce/query/2.0"
    seller: SellerSettings = Field(default_factory=_sample_seller)


class ArchiveSettings(Strict):
    """`run.py purge` for the order archives; a feed's own retention is in its contract.

    Order files (`archive/orders/exported/`) and refused order bodies (`archive/orders/
    rejected/`) hold names, addresses and e-mail addresses. Past `orders_retention_days`
    they are removed, and the folder's manifest.json records each one's name, size and
    SHA-256; the spooled order and party bodies go the same time after their export.
    None: kept forever. The scheduler purges by itself every `purge_every_hours`, or daily
    at `purge_at` ("HH:MM", UTC); neither: only when `run.py purge` is run.
    """

    orders_retention_days: int | None = Field(default=None, ge=1)
    purge_every_hours: int | None = Field(default=None, ge=1)
    purge_at: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    @model_validator(mode="after")
    def _one_purge_schedule(self) -> ArchiveSettings:
        if self.purge_every_hours is not None and self.purge_at is not None:
            raise ValueError("set purge_every_hours or purge_at, not both")
        return self


def _sample_stores() -> dict[str, StoreSettings]:
    """The embedded default: the sample ERP files, read-only so a demo run never moves them."""
    return {"erp": LocalStoreSettings(root=SAMPLES, read_only=True)}


class Settings(Strict):
    """Everything the process needs besides the feed contracts."""

    home: Path = Path()  # the current directory, unless --home or the settings file say
    schemas_dir: Path = SCHEMAS  # a settings file's default is its own folder's schemas/
    stores: dict[str, StoreSettings] = Field(default_factory=_sample_stores)
    norce: NorceSettings = NorceSettings()
    receiver: ReceiverSettings = ReceiverSettings()
    orders: OrderSettings = OrderSettings()
    archive: ArchiveSettings = ArchiveSettings()
    alerts: AlertSettings = AlertSettings()
    state: StateSettings = StateSettings()  # [state]: the ledger in SQLite or PostgreSQL
    storage: StorageSettings = StorageSettings()  # [storage]: local folders or S3
    worker: WorkerSettings = WorkerSettings()  # [worker]: the task queue of `run.py worker`
    # Fault injection for crash tests and drills: wait this long after delivery, before the
    # commit, so a process can be killed exactly there. Always 0 in production.
    pause_before_commit_seconds: float = Field(default=0.0, ge=0)
    # The same while a run reads its file (a death there counts towards quarantine).
    pause_while_reading_seconds: float = Field(default=0.0, ge=0)
    # A plain CSV file this big or bigger is parsed and validated in batches, to bound memory.
    batched_from_bytes: int = Field(default=BATCHED_FROM_BYTES, ge=1)

    def folder(self, name: str) -> Path:
        """A working folder under home: inbox, outbox, archive or state."""
        return self.home / name


# Secret keys as they appear in TOML, and the model field each resolves into.
_SECRETS = {
    "password": "password",
    "key_passphrase": "key_passphrase",
    "client_secret": "client_secret",
}


def home_given(flag: Path | None, environ: Mapping[str, str]) -> Path | None:
    """The home named by --home, else by ERP_NORCE_ETL_HOME; None when neither names one."""
    if flag is not None:
        return flag
    value = environ.get(HOME_ENV)
    return Path(value) if value else None  # an empty variable names nothing, like ETL_CONFIG


def load_settings(
    path: Path | None, environ: Mapping[str, str], home: Path | None = None
) -> Settings:
    """Load settings from `path` (None: the embedded default), resolving secrets from `environ`.

    `home` (from `home_given`) wins over the file's own `home`; a relative one stays relative to
    the current directory, as the user typed it.
    """
    if path is None:
        return Settings() if home is None else Settings(home=home)
    source = str(path)
    raw = read_toml(path, "settings")
    # The secrets and folders are resolved before the model sees the file, so their tables
    # and values are checked here: a hand-edited `erp = "x"` is a key to fix, not a crash.
    base = path.parent
    for name in _table(raw, "stores", "stores", source):
        store = _table(raw["stores"], name, f"stores.{name}", source)
        _resolve_secrets(store, f"stores.{name}", source, environ)
        if store.get("kind") == "local" and "root" in store:
            # Like home and schemas_dir: the file means the same wherever it is run from.
            store["root"] = str(base / (_text(store, "root", ".", source, f"stores.{name}") or "."))
    _resolve_secrets(_table(raw, "norce", "norce", source), "norce", source, environ)
    receiver = _table(raw, "receiver", "receiver", source)
    _resolve_secrets(receiver, "receiver", source, environ)
    events = _table(receiver, "events", "receiver.events", source)
    _resolve_secrets(events, "receiver.events", source, environ, {"token": "token"})
    console = _table(receiver, "console", "receiver.console", source)
    _resolve_secrets(console, "receiver.console", source, environ, {"password": "password"})
    _resolve_alert_channels(_table(raw, "alerts", "alerts", source), base, source)
    _resolve_secrets(_table(raw, "state", "state", source), "state", source, environ, STATE_SECRETS)
    _resolve_secrets(
        _table(raw, "worker", "worker", source), "worker", source, environ, WORKER_SECRETS
    )
    storage = _table(raw, "storage", "storage", source)
    _resolve_secrets(storage, "storage", source, environ, STORAGE_SECRETS)
    file_home = base / (_text(raw, "home", ".", source) or ".")  # checked even when overridden
    raw["home"] = str(home if home is not None else file_home)
    raw["schemas_dir"] = str(base / (_text(raw, "schemas_dir", "schemas", source) or "schemas"))
    settings = validated(Settings, raw, source)
    if "stores" not in raw and settings.norce.mode == "http":
        # Without [stores] the ERP's folder is the demo's: the samples shipped in the package.
        # Fine for a try-out in file mode; posted to a real tenant they would become its data.
        raise ConfigError(
            source,
            "stores",
            "norce.mode is http but no [stores.<store>] names the ERP's folder: the sample "
            "exports shipped in the package would be imported into the tenant",
        )
    return settings


def _resolve_alert_channels(alerts: dict[str, Any], base: Path, source: str) -> None:
    """Each `[alerts.channels.<name>]`: where its secrets are read, its CA file made absolute."""
    channels = _table(alerts, "channels", "alerts.channels", source)
    for name in channels:
        where = f"alerts.channels.{name}"
        channel = _table(channels, name, where, source)
        # Read when a message is sent: commands that send nothing never need them.
        defer_channel_secrets(channel, where, source)
        if "ca_file" in channel:
            channel["ca_file"] = str(base / (_text(channel, "ca_file", ".", source, where) or "."))


def _resolve_secrets(
    table: dict[str, Any],
    where: str,
    source: str,
    environ: Mapping[str, str],
    secrets: Mapping[str, str] = _SECRETS,
) -> None:
    """Replace `<secret>_env` / `<secret>_file` keys by the secret's value; refuse inline ones."""
    for key, field in secrets.items():
        if key in table:
            raise ConfigError(
                source,
                f"{where}.{key}",
                f"secrets are not allowed inline: use {key}_env or {key}_file",
            )
        env_name = _text(table, f"{key}_env", None, source, where)
        file_name = _text(table, f"{key}_file", None, source, where)
        table.pop(f"{key}_env", None)
        table.pop(f"{key}_file", None)
        if env_name is not None:
            if env_name not in environ:
                raise ConfigError(
                    source, f"{where}.{key}_env", f"environment variable {env_name} is not set"
                )
            table[field] = environ[env_name]
        elif file_name is not None:
            try:
                table[field] = Path(file_name).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(source, f"{where}.{key}_file", f"cannot read: {exc}") from exc


def _table(parent: dict[str, Any], key: str, where: str, source: str) -> dict[str, Any]:
    """`parent[key]` as a table; absent, an empty one (not set: absent keeps its default)."""
    value = parent.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(source, where, f"must be a table, not {_shape(value)}")
    return value


def _text(
    table: dict[str, Any], key: str, default: str | None, source: str, where: str = ""
) -> str | None:
    """`table[key]` if it is a string, else `default` when absent; anything else is an error."""
    value = table.get(key, default)
    if value is not None and not isinstance(value, str):
        name = f"{where}.{key}" if where else key
        raise ConfigError(source, name, f"must be a string, not {_shape(value)}")
    return value


def _shape(value: object) -> str:
    """The TOML kind of a value, for a message that says what was found."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"
