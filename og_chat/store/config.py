"""The user's settings: ``config.toml`` validated into a typed `Config`.

Loaded once by the CLI or the TUI (`load_config`) and passed down; nothing below
re-reads it. Read with tomllib, validated with pydantic, written with tomli-w.

Environment overrides (applied by `load_config` on top of the file; an empty
variable counts as unset):

======================== ===================================================
``OG_NETWORK``           ``network``: ``mainnet`` or ``devnet``
``OG_DEVNET_URL``        ``devnet_url``: a running devnet (else one is embedded)
``OG_MODEL``             ``model``: any id `og_chat.sdk.models.resolve_model` knows
``OG_SETTLEMENT_MODE``   ``settlement_mode``: ``private``, ``batch``, ``individual``
``OG_MAX_OPG_PER_CALL``  ``spend.max_per_authorization_opg``
``OG_THEME``             ``theme``
``OG_CHAT_HOME``         where the config file itself lives (see `og_chat.store.paths`)
======================== ===================================================

Every problem is a `ConfigError` naming the file (or variable), the key, and what
is allowed there.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
)

from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.models import resolve_model
from og_chat.sdk.trust import origin
from og_chat.sdk.types import settlement_mode

from . import config_defaults
from .atomic import write_atomic
from .paths import config_path

__all__ = [
    "ENV_OVERRIDES",
    "Config",
    "ConfigError",
    "Persona",
    "SpendCaps",
    "TopUpPolicy",
    "config_path",
    "init_config",
    "load_config",
    "save_config",
    "show_config",
]


class ConfigError(ConfigurationError):
    """The config file (or an override) holds something og-chat cannot use."""

    def __init__(self, source: Path | str, key: str | None, problem: str, allowed: str) -> None:
        self.source = str(source)
        self.key = key
        self.problem = problem
        self.allowed = allowed
        where = f"{self.source}: {key}" if key else self.source
        super().__init__(f"{where}: {problem}", hint=f"allowed: {allowed}")


def _to_decimal(value: object) -> Decimal:
    """Accept "0.5", 0.5 or 1 for OPG amounts; floats go through str to stay exact-looking."""
    if isinstance(value, bool):
        raise ValueError("not an amount")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | float | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError("not a decimal number") from None
    else:
        raise ValueError("not an amount")
    if not number.is_finite() or number <= 0:
        raise ValueError("must be a positive number")
    return number


OPG = Annotated[
    Decimal,
    BeforeValidator(_to_decimal),
    PlainSerializer(lambda d: format(d, "f"), return_type=str),
]
"""An OPG amount: a positive Decimal, written to TOML as a string so it stays exact."""

TopUpMode = Literal["auto", "ask", "never"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SpendCaps(_Section):
    """What the client agrees to pay; a 402 asking for more is refused unsigned."""

    max_per_authorization_opg: OPG = Decimal("1")
    """Largest amount one signed authorization may allow."""
    max_deadline_seconds: int = Field(default=3600, ge=1, le=86400)
    """Longest validity of one authorization (the gateway asks for 300 s by default)."""
    max_per_session_opg: OPG | None = None
    """Optional cap on the total charged in one conversation."""
    max_per_day_opg: OPG | None = None
    """Optional cap on the total charged per UTC day."""


class TopUpPolicy(_Section):
    """Whether to approve OPG for Permit2 when the allowance runs low."""

    devnet: TopUpMode = "auto"
    """Devnet tokens are free: approve without asking."""
    mainnet: TopUpMode = "ask"
    """Real money: ask first."""
    min_allowance_opg: OPG = Decimal("1")
    """Top up when the Permit2 allowance falls below this."""
    approve_opg: OPG = Decimal("2")
    """Amount to approve when topping up (the official SDK's default is twice the minimum)."""

    def mode_for(self, network: str) -> TopUpMode:
        """The policy for ``network`` (``mainnet`` or ``devnet``)."""
        return self.mainnet if network == "mainnet" else self.devnet


PERSONA_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class Persona(_Section):
    """A named way to start a conversation (`[personas.NAME]`, `og-chat ask --persona NAME`)."""

    system: str | None = None
    """The system prompt."""
    model: str | None = None
    """Stored as its full id."""
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)

    @field_validator("model", mode="before")
    @classmethod
    def _known_model(cls, value: object) -> object:
        return _full_model_id(value)


def _full_model_id(value: object) -> object:
    """A model name as its full id; a ValueError naming the choices when it is unknown."""
    if not isinstance(value, str):
        return value  # let the str check report it
    try:
        return resolve_model(value).id
    except ConfigurationError as exc:
        message = f"{exc.args[0]}; {exc.hint}" if exc.hint else str(exc.args[0])
        raise ValueError(message) from None


class Config(_Section):
    """Every setting og-chat reads from ``config.toml``."""

    network: Literal["mainnet", "devnet"] | None = None
    """Unset means: mainnet when a wallet key is configured, else the devnet."""
    devnet_url: str | None = None
    """A running devnet's URL; unset starts an embedded devnet."""
    trusted_devnets: list[str] = Field(default_factory=list)
    """Devnets (``http://host:port``) your own key may sign for; any other devnet pays with
    its published test keys (see `og_chat.sdk.trust`)."""
    model: str = config_defaults.MODEL
    """Default model, stored as its full id."""
    settlement_mode: Literal["private", "batch", "individual"] = config_defaults.SETTLEMENT_MODE
    max_tokens: int = Field(default=1024, ge=1, le=1_000_000)
    """Longest answer asked for, in tokens (the TUI's and the CLI's default)."""
    spend: SpendCaps = Field(default_factory=SpendCaps)
    top_up: TopUpPolicy = Field(default_factory=TopUpPolicy)
    theme: str = config_defaults.THEME
    keymap: dict[str, str] = Field(default_factory=dict)
    """Binding id → keys (Textual syntax, e.g. ``"ctrl+k"``), overriding the defaults."""
    personas: dict[str, Persona] = Field(default_factory=dict)
    """Name → persona (`[personas.NAME]`): system prompt, model, temperature, max_tokens."""

    @field_validator("model", mode="before")
    @classmethod
    def _known_model(cls, value: object) -> object:
        return _full_model_id(value)

    @field_validator("personas")
    @classmethod
    def _persona_names(cls, value: dict[str, Persona]) -> dict[str, Persona]:
        for name in value:
            if not PERSONA_NAME.match(name):
                raise ValueError(f"{name!r} is not a persona name")
        return value

    def persona(self, name: str) -> Persona:
        """The persona called `name`; a ConfigError listing the defined ones when there is none."""
        found = self.personas.get(name)
        if found is None:
            known = ", ".join(sorted(self.personas)) or "none defined yet"
            raise ConfigError(
                config_path(), f"personas.{name}", "no such persona", f"one of: {known}"
            )
        return found

    @field_validator("settlement_mode", mode="before")
    @classmethod
    def _known_mode(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return settlement_mode(value).value
        except ConfigurationError:
            return value  # the Literal check names the allowed values

    @field_validator("devnet_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @field_validator("trusted_devnets")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        try:
            return [origin(url) for url in value]
        except ConfigurationError as exc:
            raise ValueError(str(exc.args[0])) from None

    @field_validator("keymap")
    @classmethod
    def _bindings(cls, value: dict[str, str]) -> dict[str, str]:
        for binding, keys in value.items():
            if not binding.strip() or not keys.strip():
                raise ValueError("binding ids and keys must not be empty")
        return value

    def effective_network(self, *, has_key: bool) -> Literal["mainnet", "devnet"]:
        """The network to use: the configured one, else mainnet only when a key exists."""
        if self.network is not None:
            return self.network
        return "mainnet" if has_key else "devnet"

    def to_toml(self) -> str:
        """These settings as TOML (unset optional keys are left out)."""
        import tomli_w

        return tomli_w.dumps(self.model_dump(mode="json", exclude_none=True))


ENV_OVERRIDES: dict[str, str] = {
    "OG_NETWORK": "network",
    "OG_DEVNET_URL": "devnet_url",
    "OG_MODEL": "model",
    "OG_SETTLEMENT_MODE": "settlement_mode",
    "OG_MAX_OPG_PER_CALL": "spend.max_per_authorization_opg",
    "OG_THEME": "theme",
}
"""Environment variable → dotted config key it overrides."""

_ALLOWED: dict[str, str] = {
    "network": "mainnet or devnet (or leave it unset)",
    "devnet_url": "an http:// or https:// URL",
    "trusted_devnets": 'a list of devnet URLs, e.g. ["http://127.0.0.1:8402"]',
    "model": "a model id such as anthropic/claude-haiku-4-5 (list them with `og-chat models`)",
    "settlement_mode": "private, batch or individual",
    "max_tokens": "a whole number of tokens from 1 to 1000000",
    "theme": "a theme name (text)",
    "keymap": 'a table of binding id = "keys", e.g. quit = "ctrl+q"',
    "spend.max_per_authorization_opg": 'a positive OPG amount as a string, e.g. "1"',
    "spend.max_deadline_seconds": "a whole number of seconds from 1 to 86400",
    "spend.max_per_session_opg": 'a positive OPG amount as a string, e.g. "5"',
    "spend.max_per_day_opg": 'a positive OPG amount as a string, e.g. "20"',
    "spend": "a [spend] table with " + "max_per_authorization_opg, max_deadline_seconds, "
    "max_per_session_opg, max_per_day_opg",
    "top_up": "a [top_up] table with devnet, mainnet, min_allowance_opg, approve_opg",
    "top_up.devnet": "auto, ask or never",
    "top_up.mainnet": "auto, ask or never",
    "top_up.min_allowance_opg": 'a positive OPG amount as a string, e.g. "1"',
    "top_up.approve_opg": 'a positive OPG amount as a string, e.g. "2"',
    "personas": "tables [personas.NAME] (NAME: letters, digits, - and _) with "
    "system, model, temperature, max_tokens",
    "personas.*.system": "a system prompt (text)",
    "personas.*.model": "a model id such as anthropic/claude-haiku-4-5 (`og-chat models`)",
    "personas.*.temperature": "a number from 0 to 2",
    "personas.*.max_tokens": "a whole number of tokens from 1 to 1000000",
}


def _known_keys(prefix: str) -> str:
    keys = sorted(k[len(prefix) :] for k in _ALLOWED if k.startswith(prefix) and k != prefix)
    keys = sorted({k.split(".")[0] for k in keys})
    return "one of " + ", ".join(keys)


def _config_error(
    source: Path | str, exc: ValidationError, env_keys: Mapping[str, str]
) -> ConfigError:
    """Turn pydantic's first complaint into a message naming the file, key and allowed values."""
    err = exc.errors()[0]
    loc = [str(part) for part in err["loc"]]
    key = ".".join(loc)
    # A persona's keys are described once for every NAME: personas.coder.model → personas.*.model
    generic = ".".join(["personas", "*", *loc[2:]]) if loc[:1] == ["personas"] else key
    if err["type"] == "extra_forbidden":
        parent = ".".join(generic.split(".")[:-1])
        allowed = _known_keys(f"{parent}." if parent else "")
        return ConfigError(source, key, "unknown key", allowed)
    if loc and loc[0] == "keymap":
        key = "keymap"
    allowed = _ALLOWED.get(generic) or _ALLOWED.get(
        loc[0] if loc else "", "see `og-chat config init`"
    )
    if key in env_keys:
        source = f"environment variable {env_keys[key]}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    value = err.get("input")
    shown = ""
    if isinstance(value, str | int | float) and len(repr(value)) < 80 and repr(value) not in msg:
        shown = f" (got {value!r})"
    return ConfigError(source, key, f"{msg}{shown}", allowed)


def _set_dotted(data: dict[str, Any], key: str, value: str) -> None:
    section, _, leaf = key.rpartition(".")
    target = data
    if section:
        existing = data.setdefault(section, {})
        if not isinstance(existing, dict):
            return  # the malformed section is reported by validation
        target = existing
    target[leaf] = value


def read_config_file(path: Path) -> dict[str, Any]:
    """The raw TOML table of ``path`` ({} when it does not exist)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(path, None, f"cannot read: {exc.strerror}", "a readable file") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(path, None, "not UTF-8 text", "a UTF-8 TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, None, f"not valid TOML: {exc}", "TOML syntax") from None
    except RecursionError:
        raise ConfigError(
            path, None, "nested too deeply to read", "tables and arrays a few levels deep"
        ) from None


def load_config(path: Path | None = None, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read ``config.toml`` (defaults when absent) and apply the environment overrides.

    Pass ``environ={}`` to read the file alone (e.g. before `save_config`, so an
    override is not written into the file).
    """
    path = path if path is not None else config_path()
    env = os.environ if environ is None else environ
    data = read_config_file(path)
    env_keys: dict[str, str] = {}
    for var, key in ENV_OVERRIDES.items():
        value = env.get(var, "").strip()
        if value:
            _set_dotted(data, key, value)
            env_keys[key] = var
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise _config_error(path, exc, env_keys) from None
    except RecursionError:
        raise ConfigError(
            path, None, "nested too deeply to read", "tables and arrays a few levels deep"
        ) from None


def save_config(cfg: Config, path: Path | None = None) -> Path:
    """Write ``cfg`` atomically (0600); comments of a hand-edited file are not kept."""
    path = path if path is not None else config_path()
    header = "# og-chat settings; `og-chat config init --force` writes a commented version.\n"
    write_atomic(path, (header + cfg.to_toml()).encode("utf-8"))
    return path


DEFAULT_CONFIG = """\
# og-chat settings. Every key is optional; removing one restores its default.
# Environment variables override some keys: OG_NETWORK, OG_DEVNET_URL, OG_MODEL,
# OG_SETTLEMENT_MODE, OG_MAX_OPG_PER_CALL, OG_THEME.

# mainnet (Base, real OPG) or devnet (local, free). Unset: mainnet when a wallet
# key is configured, otherwise the devnet.
# network = "devnet"

# A running devnet (`og-chat devnet`); unset starts one inside the app.
# devnet_url = "http://127.0.0.1:8402"

# Devnets your own key (OG_PRIVATE_KEY, the keystore) may sign for. Any other devnet
# pays with its published test keys; a devnet naming a public chain always does.
# trusted_devnets = ["http://127.0.0.1:8402"]

# Default model: a full id, bare name or enum name (`og-chat models` lists them).
model = "anthropic/claude-haiku-4-5"

# private (payment only), batch (hashes in a Merkle root on-chain) or individual
# (one transaction per call).
settlement_mode = "batch"

# Longest answer asked for, in tokens (`og-chat ask --max-tokens` overrides it).
max_tokens = 1024

# A Textual theme (ctrl+p → "Change theme" lists them), the bundled opengradient or
# og-paper, or a theme file of your own in the themes directory.
theme = "opengradient"

[spend]
# A 402 asking for more than this per authorization is refused, nothing signed.
max_per_authorization_opg = "1"
# Longest validity of one signed authorization, in seconds.
max_deadline_seconds = 3600
# Optional totals (OPG):
# max_per_session_opg = "5"
# max_per_day_opg = "20"

[top_up]
# When the Permit2 allowance runs low: auto, ask or never.
devnet = "auto"
mainnet = "ask"
min_allowance_opg = "1"
approve_opg = "2"

[keymap]
# Binding id = keys, to change a shortcut. For example:
# quit = "ctrl+q"

# Personas: a system prompt and model settings under a name, picked when a conversation
# starts (`og-chat ask --persona reviewer ...`); flags given with it still win.
# [personas.reviewer]
# system = "You review code diffs: terse, concrete, most important issue first."
# model = "anthropic/claude-sonnet-4-6"
# temperature = 0.2
# max_tokens = 800
"""


def init_config(force: bool = False, path: Path | None = None) -> Path:
    """Write the commented default config; refuses to overwrite unless ``force``."""
    path = path if path is not None else config_path()
    if path.exists() and not force:
        raise ConfigError(path, None, "already exists", "pass --force to replace it")
    write_atomic(path, DEFAULT_CONFIG.encode("utf-8"))
    return path


def show_config(cfg: Config | None = None) -> str:
    """The effective settings (file plus environment) as TOML, with a note on each override."""
    if cfg is None:
        cfg = load_config()
    notes = [
        f"# {key} from {var}"
        for var, key in ENV_OVERRIDES.items()
        if os.environ.get(var, "").strip()
    ]
    if cfg.network is None:
        notes.append("# network unset: mainnet when a wallet key is configured, else devnet")
    return "\n".join([*notes, cfg.to_toml()]) if notes else cfg.to_toml()
