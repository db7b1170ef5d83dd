"""config.toml: defaults, overrides, round trips, and errors that say where and what."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from og_chat.sdk.errors import ConfigurationError
from og_chat.store.config import (
    Config,
    ConfigError,
    init_config,
    load_config,
    save_config,
    show_config,
)


def test_missing_file_gives_defaults(home: Path) -> None:
    cfg = load_config()
    assert cfg == Config()
    assert cfg.network is None
    assert cfg.effective_network(has_key=False) == "devnet"
    assert cfg.effective_network(has_key=True) == "mainnet"
    assert cfg.settlement_mode == "batch"
    assert cfg.spend.max_per_authorization_opg == Decimal("1")
    assert cfg.top_up.mode_for("devnet") == "auto"
    assert cfg.top_up.mode_for("mainnet") == "ask"


def test_init_writes_a_commented_file_that_reads_back_as_the_defaults(home: Path) -> None:
    path = init_config()
    assert path == home / "config.toml"
    text = path.read_text()
    assert text.count("#") > 10
    assert load_config() == Config()


def test_init_refuses_to_overwrite_without_force(home: Path) -> None:
    path = init_config()
    path.write_text('theme = "mine"\n')
    with pytest.raises(ConfigError, match="already exists"):
        init_config()
    init_config(force=True)
    assert load_config().theme == "opengradient"


def test_round_trip_keeps_every_setting(home: Path) -> None:
    cfg = Config.model_validate(
        {
            "network": "devnet",
            "devnet_url": "http://127.0.0.1:8402/",
            "model": "GPT_5",
            "settlement_mode": "INDIVIDUAL_FULL",
            "spend": {"max_per_authorization_opg": "0.25", "max_per_day_opg": 3},
            "top_up": {"mainnet": "never", "approve_opg": 0.5},
            "keymap": {"quit": "ctrl+q", "models": "ctrl+m"},
            "theme": "gruvbox",
        }
    )
    assert cfg.model == "openai/gpt-5"
    assert cfg.settlement_mode == "individual"
    assert cfg.devnet_url == "http://127.0.0.1:8402"
    save_config(cfg)
    again = load_config()
    assert again == cfg
    assert again.spend.max_per_day_opg == Decimal("3")
    assert 'max_per_authorization_opg = "0.25"' in (home / "config.toml").read_text()


def test_environment_overrides_the_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_config(Config(network="mainnet", model="openai/gpt-4.1-mini"))
    monkeypatch.setenv("OG_NETWORK", "devnet")
    monkeypatch.setenv("OG_MODEL", "claude-opus-4-6")
    monkeypatch.setenv("OG_SETTLEMENT_MODE", "private")
    monkeypatch.setenv("OG_MAX_OPG_PER_CALL", "0.01")
    monkeypatch.setenv("OG_DEVNET_URL", "http://localhost:9000")
    cfg = load_config()
    assert cfg.network == "devnet"
    assert cfg.model == "anthropic/claude-opus-4-6"
    assert cfg.settlement_mode == "private"
    assert cfg.spend.max_per_authorization_opg == Decimal("0.01")
    assert cfg.devnet_url == "http://localhost:9000"
    assert "# model from OG_MODEL" in show_config(cfg)
    # the file alone is unchanged, so saving it does not bake the override in
    assert load_config(environ={}).network == "mainnet"


@pytest.mark.parametrize(
    ("text", "key", "allowed"),
    [
        ('network = "testnet"\n', "network", "mainnet or devnet"),
        ('settlement_mode = "fast"\n', "settlement_mode", "private, batch or individual"),
        ('model = "gpt-99"\n', "model", "og-chat models"),
        (
            '[spend]\nmax_per_authorization_opg = "-1"\n',
            "spend.max_per_authorization_opg",
            "positive",
        ),
        ("[spend]\nmax_deadline_seconds = 0\n", "spend.max_deadline_seconds", "1 to 86400"),
        ('[top_up]\nmainnet = "yes"\n', "top_up.mainnet", "auto, ask or never"),
        ('devnet_url = "localhost"\n', "devnet_url", "http://"),
        ("colour = 1\n", "colour", "theme"),
        ("[spend]\nmax = 1\n", "spend.max", "max_per_day_opg"),
        ("keymap = { quit = 3 }\n", "keymap", "binding id"),
    ],
)
def test_bad_value_names_file_key_and_allowed_values(
    home: Path, text: str, key: str, allowed: str
) -> None:
    path = home / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config()
    err = caught.value
    assert isinstance(err, ConfigurationError)
    assert err.key == key
    assert err.source == str(path)
    message = str(err)
    assert str(path) in message and key in message and allowed in message


def test_bad_override_names_the_variable(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OG_NETWORK", "moon")
    with pytest.raises(ConfigError, match="OG_NETWORK") as caught:
        load_config()
    assert caught.value.key == "network"


def test_toml_syntax_and_encoding_errors_name_the_file(home: Path) -> None:
    path = home / "config.toml"
    path.write_text("network = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config()
    path.write_bytes(b'theme = "\xff"\n')
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config()
