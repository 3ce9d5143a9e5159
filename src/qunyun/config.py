"""Configuration: one `qunyun.toml`, documented defaults, environment overrides.

Lookup order for the file: `--config PATH`, `$QUNYUN_CONFIG`, `./qunyun.toml`;
no file means all defaults. Any key can be overridden from the environment as
`QUNYUN_<SECTION>__<KEY>` (e.g. `QUNYUN_LIFECYCLE__SILENT_AFTER_DAYS=21`), and
two have short names: `QUNYUN_DATABASE_URL` and `QUNYUN_SECRET_KEY`.
Every key is documented in docs/configuration.md (a test enforces it).
"""

import hashlib
import os
import tomllib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from qunyun.errors import ConfigError

DEFAULT_CONFIG_NAME = "qunyun.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Section):
    url: str = "sqlite:///qunyun.db"
    echo: bool = False


class PrivacyConfig(_Section):
    # Base64 Fernet key (32 bytes). Prefer the env var or a key file over the toml.
    secret_key: str | None = None
    key_file: str = ".qunyun/secret.key"


class GeneralConfig(_Section):
    timezone: str = "Asia/Shanghai"
    locale: str = "zh-CN"
    workspace: str = "default"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in ("zh-CN", "en"):
            raise ValueError("locale must be 'zh-CN' or 'en'")
        return value


class LifecycleConfig(_Section):
    """Thresholds of the rule-based stage and segment (docs/lifecycle.md)."""

    new_member_days: int = Field(30, ge=1)
    silent_after_days: int = Field(30, ge=1)
    churn_inactive_days: int = Field(90, ge=1)
    demotion_grace_days: int = Field(3, ge=0)
    growing_after_months: int = Field(1, ge=0)
    mature_after_months: int = Field(3, ge=0)
    churning_after_months: int = Field(6, ge=0)
    mature_enter_interactions_30d: int = Field(4, ge=1)
    mature_keep_interactions_30d: int = Field(2, ge=0)
    mature_repeat_purchases: int = Field(2, ge=1)
    collapse_ratio: float = Field(0.25, ge=0, le=1)
    collapse_min_baseline_30d: float = Field(4.0, ge=0)
    fade_ratio: float = Field(0.5, ge=0, le=1)


class CleanupConfig(_Section):
    """Periodic clean-up list (周期淘汰): long-tenured members who neither speak nor buy."""

    min_days_in_group: int = Field(90, ge=0)
    window_days: int = Field(90, ge=1)
    protect_lifetime_spend: float = Field(500.0, ge=0)


class AnalyticsConfig(_Section):
    """The DuckDB mirror the analytics run on (docs/analytics.md)."""

    # Empty: beside the SQLite file, or under .qunyun/ for a server database.
    duckdb_path: str = ""
    settle_minutes: float = Field(10.0, ge=0)


class ModelsConfig(_Section):
    """The lifecycle models (Step 3, docs/models.md): when they are fitted and how they label."""

    enabled: bool = True
    # `qunyun refresh` refits (backtest, fit, score) when the last fit is this old.
    refit_days: int = Field(7, ge=1)
    # Communities with fewer members with an event are left to the rules.
    min_members: int = Field(50, ge=5)
    # Backtest: "active again within this many days after the cutoff" is what is predicted.
    horizon_days: int = Field(30, ge=1)
    # A model must beat the best rule's AUC by this much to be used.
    min_auc_gain: float = Field(0.0, ge=0)
    # Silent members: P(alive) at least this → worth waking; below `likely_gone_p_alive` →
    # churned (likely).
    worth_waking_p_alive: float = Field(0.5, ge=0, le=1)
    likely_gone_p_alive: float = Field(0.2, ge=0, le=1)
    # Active members are "at risk" when the expected activity of the next 30 days falls below
    # this share of their own past 30-day rate.
    at_risk_ratio: float = Field(0.5, ge=0, le=1)
    # CLV over this many months, discounted at this yearly rate, times the margin.
    clv_months: int = Field(12, ge=1)
    annual_discount_rate: float = Field(0.10, ge=0)
    margin: float = Field(1.0, ge=0, le=1)


class TargetsConfig(_Section):
    """KPI targets (seed 002, section 5); empty to leave a KPI without a target."""

    interaction_rate: float | None = 0.30
    speaking_rate: float | None = None
    stickiness: float | None = None
    conversion_rate: float | None = 0.15
    repurchase_rate: float | None = 0.10
    churn_rate: float | None = 0.05
    member_growth: float | None = 0.50
    nps: float | None = 40.0

    @field_validator("*", mode="before")
    @classmethod
    def _false_means_none(cls, value: object) -> object:
        # TOML has no null: `key = false` switches a target off.
        return None if value is False else value


class ImportConfig(_Section):
    batch_size: int = Field(5000, ge=1, le=100_000)
    identity_cache_size: int = Field(200_000, ge=1000)


def _comma_list(value: object) -> object:
    # Environment variables carry lists as "a,b,c".
    return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


class MatrixConfig(_Section):
    """The live Matrix connector and channel (docs/connectors.md)."""

    homeserver: str = ""
    user: str = ""
    # Prefer QUNYUN_MATRIX__PASSWORD or an access token from the environment to a password in the file.
    password: str | None = None
    access_token: str | None = None
    device_id: str = "QUNYUN"
    rooms: list[str] = []
    poll_timeout_seconds: float = Field(30.0, gt=0, le=300)
    backfill_limit: int = Field(10_000, ge=0)
    send_per_minute: int = Field(12, ge=1)

    _rooms = field_validator("rooms", mode="before")(_comma_list)


class TelegramConfig(_Section):
    bot_token: str | None = None
    api_url: str = "https://api.telegram.org"


class SlackConfig(_Section):
    bot_token: str | None = None
    api_url: str = "https://slack.com/api"


class DiscordConfig(_Section):
    bot_token: str | None = None
    webhook_url: str | None = None
    api_url: str = "https://discord.com/api/v10"


class WeComConfig(_Section):
    """WeCom (企业微信): app messages, group robot, 客户联系 callbacks and API (docs/wecom.md)."""

    corp_id: str | None = None
    agent_id: int | None = None
    secret: str | None = None
    robot_webhook_url: str | None = None
    callback_token: str | None = None
    encoding_aes_key: str | None = None
    api_url: str = "https://qyapi.weixin.qq.com/cgi-bin"


class EmailConfig(_Section):
    host: str | None = None
    port: int = Field(587, ge=1, le=65535)
    sender: str = "qunyun@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    per_second: float = Field(10.0, gt=0)


class WebhookConfig(_Section):
    """The generic outbound webhook channel: every message POSTed, signed, to `url`."""

    url: str | None = None
    secret: str | None = None
    per_second: float = Field(20.0, gt=0)


class HooksConfig(_Section):
    """Inbound webhooks (`POST /hooks/{source}`): one shared secret per source (docs/webhooks.md)."""

    secrets: dict[str, str] = {}
    tolerance_seconds: int = Field(300, ge=1)
    max_body_bytes: int = Field(1_048_576, ge=1024)

    @field_validator("secrets", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        # From the environment: QUNYUN_HOOKS__SECRETS="shop=…,crm=…".
        if isinstance(value, str):
            pairs = [part.partition("=") for part in value.split(",") if part.strip()]
            return {name.strip(): secret.strip() for name, _, secret in pairs}
        return value


class TextConfig(_Section):
    """Text intelligence (docs/text.md): lexicons operators extend."""

    enabled: bool = True
    topics_file: str | None = None
    sensitive_words_file: str | None = None
    interest_half_life_days: float = Field(30.0, gt=0)
    # Behavioural tags of the whole workspace are recounted by `qunyun refresh` at most this often
    # (1M members: ~4 s of DuckDB and the writes); 0 = on every refresh.
    behaviour_every_hours: float = Field(24.0, ge=0)


class PointsConfig(_Section):
    """The points ledger (docs/engagement.md): how long points last, what earns them."""

    validity_days: int = Field(365, ge=0)  # 0: points never expire
    award_history: bool = False  # the first refresh pays first_message / survey_answer for old activity too
    earn: dict[str, int] = {
        "first_message": 10,
        "checkin": 5,
        "invite": 10,
        "invited": 10,
        "survey_answer": 5,
        "proposal": 20,
    }

    @field_validator("earn")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        bad = [name for name, amount in value.items() if amount <= 0]
        if bad:
            raise ValueError(f"earn amounts must be positive: {', '.join(bad)}")
        return value


class CheckinConfig(_Section):
    """Daily check-ins (docs/engagement.md)."""

    # Streak length (days) → points, paid each time the streak reaches a multiple of it.
    streak_rewards: dict[int, int] = {7: 30}
    makeup_cards_per_month: int = Field(0, ge=0)
    makeup_window_days: int = Field(7, ge=1)


class LeaderboardConfig(_Section):
    """Monthly leaderboards and community stars (docs/engagement.md)."""

    weights: dict[str, float] = {
        "message": 1.0,
        "reply": 2.0,
        "reaction": 0.5,
        "share": 3.0,
        "checkin": 1.0,
        "poll_vote": 1.0,
        "survey_answer": 1.0,
        "event_attend": 5.0,
    }
    acknowledgement: float = Field(0.0, ge=0)
    centrality_weight: float = Field(0.0, ge=0)
    top: int = Field(10, ge=1)
    stars: int = Field(3, ge=1)
    star_badge: str = "社群之星"
    star_points: int = Field(100, ge=0)


class ReferralTierConfig(_Section):
    invites: int = Field(ge=1)
    campaign: str


class ReferralsConfig(_Section):
    """Referral tiers (docs/engagement.md): credited invites → a coupon of a campaign."""

    tiers: list[ReferralTierConfig] = [
        ReferralTierConfig(invites=1, campaign="invite-20"),
        ReferralTierConfig(invites=3, campaign="invite-50"),
    ]


class LevelConfig(_Section):
    name: str
    label: str
    min_points: int | None = Field(None, ge=0)
    min_spend: float | None = Field(None, ge=0)  # in the currency's main unit (yuan)
    perks: list[str] = []


class PlanConfig(_Section):
    name: str
    label: str
    price: float = Field(gt=0)
    currency: str = "CNY"
    days: int = Field(365, ge=1)
    level: str


class TiersConfig(_Section):
    """Membership tiers and paid plans (docs/engagement.md); levels lowest first."""

    levels: list[LevelConfig] = [
        LevelConfig(name="silver", label="白银会员", min_points=500, perks=["会员日 9 折"]),
        LevelConfig(
            name="gold", label="黄金会员", min_points=2000, min_spend=1000, perks=["会员日 8 折", "新品试用"]
        ),
        LevelConfig(name="vip", label="年度会员", perks=["全年 8 折", "专属社群", "生日礼包"]),
    ]
    plans: list[PlanConfig] = [PlanConfig(name="annual", label="年度会员", price=99, level="vip")]


class H5Config(_Section):
    """Member pages reached from signed links (docs/member-pages.md)."""

    base_url: str = "http://127.0.0.1:8700"
    link_days: int = Field(7, ge=1, le=90)


class JourneysConfig(_Section):
    """The journey engine and its guard rails (docs/playbooks.md)."""

    daily_cap: int = Field(2, ge=0)  # messages per member per member-local day, all playbooks together
    weekly_cap: int = Field(5, ge=0)  # … per member-local ISO week
    quiet_start: str = "22:00"  # member-local; messages wait until quiet_end, never dropped for it
    quiet_end: str = "08:00"
    task_deadline_hours: int = Field(24, ge=1)  # operator tasks are overdue after this
    message_ttl_days: int = Field(3, ge=1)  # a message still held back after this is expired, not sent late
    batch_size: int = Field(500, ge=1, le=10_000)  # due steps (or outbox rows) claimed per transaction
    dispatch_retries: int = Field(5, ge=1)  # failed sends before the dead-letter state
    retry_backoff_seconds: int = Field(60, ge=1)  # doubled at each retry
    lease_seconds: int = Field(300, ge=10)  # a claimed send not finished by then is taken over
    # A WeCom customer or group gets at most as many mass messages in a month as the month has days.
    wecom_monthly_quota: bool = True
    # platform → channel that sends to it; "task" makes an operator task (WeChat has no bot API to members).
    channels: dict[str, str] = Field(
        default_factory=lambda: {"wechat": "task", "wecom": "task", "web": "task", "other": "task"}
    )
    opt_out_words: list[str] = Field(
        default_factory=lambda: ["退订", "TD", "T", "取消订阅", "stop", "unsubscribe"]
    )

    @field_validator("quiet_start", "quiet_end")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        hour, _, minute = value.partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            raise ValueError(f"{value!r} is not a HH:MM time")
        return value


class Settings(_Section):
    general: GeneralConfig = GeneralConfig()
    database: DatabaseConfig = DatabaseConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    lifecycle: LifecycleConfig = LifecycleConfig()
    cleanup: CleanupConfig = CleanupConfig()
    imports: ImportConfig = Field(ImportConfig(), alias="import")
    analytics: AnalyticsConfig = AnalyticsConfig()
    targets: TargetsConfig = TargetsConfig()
    models: ModelsConfig = ModelsConfig()
    matrix: MatrixConfig = MatrixConfig()
    telegram: TelegramConfig = TelegramConfig()
    slack: SlackConfig = SlackConfig()
    discord: DiscordConfig = DiscordConfig()
    wecom: WeComConfig = WeComConfig()
    email: EmailConfig = EmailConfig()
    webhook: WebhookConfig = WebhookConfig()
    hooks: HooksConfig = HooksConfig()
    text: TextConfig = TextConfig()
    points: PointsConfig = PointsConfig()
    checkin: CheckinConfig = CheckinConfig()
    leaderboard: LeaderboardConfig = LeaderboardConfig()
    referrals: ReferralsConfig = ReferralsConfig()
    tiers: TiersConfig = TiersConfig()
    h5: H5Config = H5Config()
    journeys: JourneysConfig = JourneysConfig()
    base_dir: Path = Path(".")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.general.timezone)

    def resolve_path(self, relative: str) -> Path:
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    def mirror_path(self, database_url: str) -> Path:
        """Where the DuckDB mirror of `database_url` lives."""
        if self.analytics.duckdb_path:
            return self.resolve_path(self.analytics.duckdb_path)
        prefix = "sqlite:///"
        if database_url.startswith(prefix) and database_url != prefix + ":memory:":
            return Path(database_url[len(prefix) :] + ".analytics.duckdb")
        digest = hashlib.sha256(database_url.encode("utf-8")).hexdigest()[:12]
        return self.resolve_path(f".qunyun/analytics-{digest}.duckdb")

    def database_url(self) -> str:
        """The configured URL, with relative SQLite paths anchored at the config's folder."""
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite://":
            rest = url[len(prefix) :]
            if rest and rest != ":memory:":
                return prefix + str(self.resolve_path(rest))
        return url


_SHORT_ENV = {
    "QUNYUN_DATABASE_URL": ("database", "url"),
    "QUNYUN_SECRET_KEY": ("privacy", "secret_key"),
}


def _env_overrides(environ: dict[str, str]) -> dict[str, dict[str, Any]]:
    overrides: dict[str, dict[str, Any]] = {}
    for name, (section, key) in _SHORT_ENV.items():
        if environ.get(name):
            overrides.setdefault(section, {})[key] = environ[name]
    for name, value in environ.items():
        if name.startswith("QUNYUN_") and "__" in name:
            section, _, key = name[len("QUNYUN_") :].lower().partition("__")
            overrides.setdefault(section, {})[key] = value
    return overrides


def _merge(base: dict[str, Any], extra: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged = dict(base)
    for section, values in extra.items():
        current = merged.get(section, {})
        if not isinstance(current, dict):
            raise ConfigError(f"[{section}] must be a table", code="config.invalid")
        merged[section] = {**current, **values}
    return merged


def load_settings(path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read the config file (if any), apply env overrides, validate."""
    env = dict(os.environ if environ is None else environ)
    if path is None and env.get("QUNYUN_CONFIG"):
        path = Path(env["QUNYUN_CONFIG"])
    if path is None and Path(DEFAULT_CONFIG_NAME).is_file():
        path = Path(DEFAULT_CONFIG_NAME)
    raw: dict[str, Any] = {}
    base_dir = Path.cwd()
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}", code="config.missing") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}", code="config.invalid") from exc
        base_dir = path.resolve().parent
    data = _merge(raw, _env_overrides(env))
    data["base_dir"] = base_dir
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        where = str(path) if path else "environment"
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigError(f"{where}: {problems}", code="config.invalid") from exc
