"""Hindsight's settings: TOML defaults, an optional TOML file, then HINDSIGHT_* env vars."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, ClassVar, Literal, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

DEFAULTS_FILE = Path(__file__).with_name("defaults.toml")
ENV_PREFIX = "HINDSIGHT_"


class SettingsError(ValueError):
    """A setting has a value Hindsight cannot use; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _hhmm(value: str) -> str:
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and 0 <= int(hours) < 24 and 0 <= int(minutes) < 60):
        raise ValueError("must be a time of day as HH:MM")
    return f"{int(hours):02d}:{int(minutes):02d}"


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(2, ge=1, le=64)


class WorkingDaysSettings(_Section):
    country: str = ""
    subdivision: str = ""
    extra_holidays: list[Any] = []
    weekend: list[int] = [6, 7]
    day_start: str = "09:00"
    day_end: str = "17:00"

    @field_validator("extra_holidays")
    @classmethod
    def _dates(cls, value: list[Any]) -> list[Any]:
        from datetime import date

        out = []
        for item in value:
            out.append(item if isinstance(item, date) else date.fromisoformat(str(item)))
        return out

    @field_validator("weekend")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(day < 1 or day > 7 for day in value):
            raise ValueError("weekend days are ISO weekday numbers, 1 (Monday) to 7 (Sunday)")
        return value

    @field_validator("day_start", "day_end")
    @classmethod
    def _time(cls, value: str) -> str:
        return _hhmm(value)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        if value:
            import holidays

            if value.upper() not in holidays.list_supported_countries():
                raise ValueError(f"{value!r} is not a country code the holidays library knows")
        return value.upper()


class RetroSettings(_Section):
    deadline_days: int = Field(3, ge=1, le=60)
    target_days: int = Field(2, ge=0, le=60)
    prep_hours: int = Field(4, ge=0, le=240)
    meeting_minutes: int = Field(60, ge=15, le=480)
    facilitator_pool: list[str] = []
    nudge_after_hours: int = Field(24, ge=1)
    ground_rules: list[str] = []

    @field_validator("facilitator_pool")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        return [email.strip().lower() for email in value if email.strip()]


class DocumentSettings(_Section):
    template_by_severity: dict[str, str] = {"SEV0": "standard", "SEV1": "standard", "SEV2": "lightweight"}
    render_seconds: float = Field(2.0, gt=0, le=60)
    render_memory_mb: int = Field(512, ge=128, le=65536)


_FACTOR_KEY = r"^[a-z][a-z0-9_]{0,62}$"


class FactorCategory(_Section):
    """One category of contributing factor, with its kinds: `kinds` maps each kind's key to its label."""

    key: str = Field(pattern=_FACTOR_KEY)
    label: str = Field(min_length=1, max_length=100)
    kinds: dict[str, str] = {}

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, value: dict[str, str]) -> dict[str, str]:
        import re

        for key, label in value.items():
            if not re.match(_FACTOR_KEY, key):
                raise ValueError(f"kind {key!r} must be lower-case letters, digits and _, starting with a letter")
            if not label.strip() or len(label) > 100:
                raise ValueError(f"kind {key!r} needs a label of 1 to 100 characters")
        return value


class FactorSettings(_Section):
    """The contributing-factor taxonomy retros pick from: categories, each with kinds."""

    categories: list[FactorCategory] = []

    @field_validator("categories")
    @classmethod
    def _unique(cls, value: list[FactorCategory]) -> list[FactorCategory]:
        seen: set[str] = set()
        for category in value:
            if category.key in seen:
                raise ValueError(f"category {category.key!r} is given twice")
            seen.add(category.key)
        return value


class ActionItemSettings(_Section):
    max_weeks: int = Field(4, ge=1)
    page_size: int = Field(50, ge=1)
    max_page_size: int = Field(200, ge=1)


class JiraSettings(_Section):
    url: str = ""
    user: str = ""
    token: str = ""
    project: str = ""
    webhook_secret: str = ""
    issue_type: str = "Task"
    deployment: Literal["auto", "cloud", "server"] = "auto"
    sync_minutes: int = Field(5, ge=1)
    timeout_seconds: float = Field(10, gt=0, le=120)
    private_details: bool = False
    priority_map: dict[str, str] = {}
    extra_fields: dict[str, Any] = {}
    label: str = Field("hindsight", pattern=r"^[A-Za-z0-9_.-]+$")
    page_size: int = Field(100, ge=1, le=1000)
    max_retries: int = Field(0, ge=0, le=3)
    retry_base_seconds: float = Field(30, gt=0)
    retry_max_seconds: float = Field(3600, gt=0)
    claim_seconds: int = Field(300, ge=10)
    push_batch: int = Field(50, ge=1)
    reconcile_overlap_minutes: int = Field(1, ge=1)

    # One push asks Jira at most this many times (look up, find the owner, create or update,
    # read and make the transition): a claimed row's lease must outlast all of them timing out.
    REQUESTS_PER_PUSH: ClassVar[int] = 6

    @model_validator(mode="after")
    def _lease_outlasts_a_push(self) -> JiraSettings:
        slowest = self.REQUESTS_PER_PUSH * self.timeout_seconds
        if self.claim_seconds < slowest:
            raise ValueError(
                f"claim_seconds ({self.claim_seconds}) must be at least {slowest:g}: {self.REQUESTS_PER_PUSH} times "
                f"timeout_seconds, or a slow Jira could let a second worker push the same item again"
            )
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.url and self.project)


class ConfluenceSettings(_Section):
    url: str = ""
    user: str = ""
    token: str = ""
    space: str = ""
    parent_id: str = ""
    publish_private: bool = False
    timeout_seconds: float = Field(10, gt=0, le=120)
    # A 429 asking to wait longer than this fails the publish at once (503) instead of holding the request.
    max_retry_after_seconds: float = Field(10, ge=0)
    rate_limit_retries: int = Field(2, ge=0, le=10)

    @property
    def enabled(self) -> bool:
        return bool(self.url and self.space)


class SmtpSettings(_Section):
    host: str = ""
    port: int = Field(25, ge=1, le=65535)
    user: str = ""
    password: str = ""
    starttls: bool = False
    ssl: bool = False
    timeout_seconds: float = Field(10, gt=0, le=120)
    connections: int = Field(4, ge=1, le=32)

    @property
    def enabled(self) -> bool:
        return bool(self.host)


CHAT_MESSAGES = ["booked", "scheduled", "at_risk", "completed", "digest"]


def _chat_messages(value: list[str]) -> list[str]:
    kinds = [kind.strip().lower() for kind in value if kind.strip()]
    unknown = [kind for kind in kinds if kind not in CHAT_MESSAGES]
    if unknown:
        raise ValueError(f"unknown message {unknown[0]!r}; choose from {', '.join(CHAT_MESSAGES)}")
    return kinds


class SlackSettings(_Section):
    webhook_url: str = ""
    bot_token: str = ""
    channel: str = ""
    api_url: str = "https://slack.com/api"
    messages: list[str] = list(CHAT_MESSAGES)

    _kinds = field_validator("messages")(_chat_messages)

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url or (self.bot_token and self.channel))


class TeamsSettings(_Section):
    webhook_url: str = ""
    messages: list[str] = list(CHAT_MESSAGES)

    _kinds = field_validator("messages")(_chat_messages)

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url)


class ChatSettings(_Section):
    connect_timeout_seconds: float = Field(5, gt=0, le=60)
    read_timeout_seconds: float = Field(10, gt=0, le=120)
    retry_base_seconds: float = Field(30, ge=0)
    retry_max_seconds: float = Field(3600, gt=0)
    claim_seconds: int = Field(600, ge=10)
    give_up_hours: float = Field(24, gt=0)
    batch: int = Field(20, ge=1, le=500)
    digest_weekday: int = Field(1, ge=1, le=7)
    digest_hour: int = Field(9, ge=0, le=23)

    @property
    def request_seconds(self) -> float:
        """The longest one chat request may take: its connect and read timeouts (no request is retried in a run)."""
        return self.connect_timeout_seconds + self.read_timeout_seconds

    @property
    def sending_seconds(self) -> float:
        """How long into its claim a run may still start a request: half the claim. The other half is the
        margin for what a timeout does not bound (an answer trickling in, a wait for the database, clocks
        that differ between hosts), so a claim never runs out while its message is being sent."""
        return self.claim_seconds / 2

    @model_validator(mode="after")
    def _claim_outlasts_a_batch(self) -> ChatSettings:
        # Another process may take over a claim that ran out: a batch still being sent then would go twice.
        worst = self.batch * self.request_seconds
        if worst > self.sending_seconds:
            raise ValueError(
                f"chat.claim_seconds ({self.claim_seconds}) must be at least twice chat.batch ({self.batch}) times "
                f"the connect and read timeouts ({self.request_seconds:g} s), {2 * worst:g}: raise chat.claim_seconds "
                "or lower chat.batch"
            )
        return self


class ReminderSettings(_Section):
    due_soon_days: int = Field(3, ge=0)
    hour: int = Field(9, ge=0, le=23)
    retry_minutes: float = Field(5, ge=0)
    max_snooze_days: int = Field(90, ge=1)


class SchedulerSettings(_Section):
    tick_seconds: float = Field(60, gt=0)


class AuthSettings(_Section):
    failure_window_minutes: int = Field(15, ge=1, le=1440)
    max_failures_per_account: int = Field(5, ge=1)
    max_failures_per_address: int = Field(20, ge=1)
    lockout_seconds: int = Field(60, ge=1)
    session_max_hours: float = Field(336, gt=0)
    session_idle_hours: float = Field(12, gt=0)
    trusted_proxy_hops: int = Field(0, ge=0, le=10)
    password_hash_method: str = "scrypt"

    @field_validator("password_hash_method")
    @classmethod
    def _hash_method(cls, value: str) -> str:
        # werkzeug's forms: scrypt[:n:r:p] or pbkdf2[:hash[:iterations]]
        name, *params = value.split(":")
        if name == "scrypt" and (params == [] or (len(params) == 3 and all(p.isdigit() for p in params))):
            return value
        if name == "pbkdf2" and len(params) <= 2 and (len(params) < 2 or params[1].isdigit()):
            return value
        raise ValueError("must be werkzeug's scrypt[:n:r:p] or pbkdf2[:hash[:iterations]], e.g. scrypt")


class OidcSettings(_Section):
    issuer: str = ""
    client_id: str = ""
    client_secret: str = ""
    name: str = ""
    scopes: str = "openid email profile"
    admin_groups: list[str] = []
    allowed_groups: list[str] = []
    groups_claim: str = "groups"
    allowed_domains: list[str] = []
    connect_timeout_seconds: float = Field(5, gt=0, le=60)
    read_timeout_seconds: float = Field(10, gt=0, le=120)
    metadata_cache_minutes: float = Field(60, ge=0)

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (the provider's issuer URL)")
        return value

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("issuer") and not value:
            raise ValueError("must be set when oidc.issuer is (the client id the provider gave Hindsight)")
        return value

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: str) -> str:
        if "openid" not in value.split():
            raise ValueError("must include openid, e.g. 'openid email profile'")
        return " ".join(value.split())

    @field_validator("admin_groups", "allowed_groups")
    @classmethod
    def _groups(cls, value: list[str]) -> list[str]:
        return [group.strip() for group in value if group.strip()]

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        return [domain.strip().lower().lstrip("@") for domain in value if domain.strip()]

    @property
    def enabled(self) -> bool:
        return bool(self.issuer)

    @property
    def display_name(self) -> str:
        """What the login page calls the provider."""
        return self.name or "single sign-on"


class AuditSettings(_Section):
    retention_days: int = Field(365, ge=1, le=36500)


class PagerDutySettings(_Section):
    webhook_secret: str = ""
    api_token: str = ""
    api_url: str = "https://api.pagerduty.com"
    timeout_seconds: float = Field(5, gt=0, le=60)

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class RootlySettings(_Section):
    webhook_secret: str = ""


class IncidentIoSettings(_Section):
    webhook_secret: str = ""


def parse_severity_map(value: str) -> dict[str, str]:
    """`P1=SEV0,P2=SEV1` as `{"p1": "SEV0", "p2": "SEV1"}` (names lower-cased); ValueError naming the bad pair."""
    pairs: dict[str, str] = {}
    for part in value.split(","):
        if not part.strip():
            continue
        name, sep, level = part.partition("=")
        level = level.strip().upper()
        if not sep or not name.strip() or level not in {"SEV0", "SEV1", "SEV2"}:
            raise ValueError(f"{part.strip()!r} is not NAME=SEV0, NAME=SEV1 or NAME=SEV2")
        pairs[name.strip().lower()] = level
    return pairs


class Settings(_Section):
    """Every setting Hindsight reads, validated."""

    database_url: str = ""
    secret_key: str = ""
    base_url: str = "http://localhost:8000"
    timezone: str = "UTC"
    max_body_bytes: int = Field(1048576, ge=1024)
    mail_from: str = "hindsight@localhost"
    instance_path: str = "instance"
    server: ServerSettings = ServerSettings()
    working_days: WorkingDaysSettings = WorkingDaysSettings()
    retro: RetroSettings = RetroSettings()
    documents: DocumentSettings = DocumentSettings()
    action_items: ActionItemSettings = ActionItemSettings()
    factors: FactorSettings = FactorSettings()
    jira: JiraSettings = JiraSettings()
    confluence: ConfluenceSettings = ConfluenceSettings()
    smtp: SmtpSettings = SmtpSettings()
    slack: SlackSettings = SlackSettings()
    teams: TeamsSettings = TeamsSettings()
    chat: ChatSettings = ChatSettings()
    reminders: ReminderSettings = ReminderSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    auth: AuthSettings = AuthSettings()
    audit: AuditSettings = AuditSettings()
    severity_map: str = "P1=SEV0,P2=SEV1,P3=SEV2,P4=SEV2,P5=SEV2"
    pagerduty: PagerDutySettings = PagerDutySettings()
    rootly: RootlySettings = RootlySettings()
    incidentio: IncidentIoSettings = IncidentIoSettings()
    oidc: OidcSettings = OidcSettings()
    # After `oidc`: its validator reads whether single sign-on is on.
    password_login: bool = True

    @field_validator("password_login")
    @classmethod
    def _password_login(cls, value: bool, info: ValidationInfo) -> bool:
        oidc = info.data.get("oidc")
        if not value and not (oidc and oidc.enabled):
            raise ValueError("can be false only when oidc.issuer is set: no one could sign in to the pages")
        return value

    @field_validator("severity_map")
    @classmethod
    def _severity_map(cls, value: str) -> str:
        parse_severity_map(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL to connect to, with psycopg 3 chosen for PostgreSQL."""
        return sqlalchemy_url(self.database_url or f"sqlite:///{Path(self.instance_path).resolve() / 'hindsight.db'}")


def sqlalchemy_url(url: str) -> str:
    """`url` with psycopg 3 as the driver of plain `postgresql://` and `postgres://` URLs."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme):]
    return url


def _env_name(section: str | None, key: str) -> str:
    parts = [section, key] if section else [key]
    return ENV_PREFIX + "_".join(parts).upper()


def _parse_env(raw: str, default: Any) -> Any:
    if isinstance(default, (list, dict)):
        text = raw.strip()
        if text.startswith(("[", "{")):
            return json.loads(text)
        if isinstance(default, dict):
            raise ValueError("must be a JSON object")
        return [part.strip() for part in text.split(",") if part.strip()]
    return raw


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _key_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read defaults, then HINDSIGHT_CONFIG's file, then the environment, then `overrides`.

    Raises SettingsError naming the key (and its environment variable) that is wrong.
    """
    environ = os.environ if environ is None else environ
    with DEFAULTS_FILE.open("rb") as handle:
        data: dict[str, Any] = tomllib.load(handle)
    defaults = data
    config_file = environ.get(ENV_PREFIX + "CONFIG")
    if config_file:
        try:
            with open(config_file, "rb") as handle:
                data = _merge(data, tomllib.load(handle))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"HINDSIGHT_CONFIG={config_file}: {exc}") from None

    sources: dict[str, str] = {}
    for key, default in defaults.items():
        if isinstance(default, dict):
            for sub_key, sub_default in default.items():
                name = _env_name(key, sub_key)
                if name in environ:
                    try:
                        data.setdefault(key, {})[sub_key] = _parse_env(environ[name], sub_default)
                    except ValueError as exc:
                        raise SettingsError(f"{name} ({key}.{sub_key}): {exc}") from None
                    sources[f"{key}.{sub_key}"] = name
        else:
            name = _env_name(None, key)
            if name in environ:
                data[key] = _parse_env(environ[name], default)
                sources[key] = name
    if overrides:
        data = _merge(data, overrides)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _key_name(first["loc"])
        section_key = ".".join(key.split(".")[:2])
        origin = sources.get(section_key) or sources.get(key.split(".")[0])
        where = f" (from {origin})" if origin else ""
        raise SettingsError(f"setting {key}{where}: {first['msg']}") from None
