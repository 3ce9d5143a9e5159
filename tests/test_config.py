"""Configuration: defaults, file, environment overrides, errors, and documentation."""

import re
from pathlib import Path

import pytest

from qunyun.config import Settings, load_settings
from qunyun.errors import ConfigError

DOCS = Path(__file__).parent.parent / "docs" / "configuration.md"


def _keys(model: type[Settings]) -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        if name == "base_dir":
            continue
        section = field.alias or name
        sub = field.annotation
        assert isinstance(sub, type)
        keys += [f"{section}.{key}" for key in sub.model_fields]  # type: ignore[attr-defined]  # pydantic model
    return keys


def test_every_key_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_][a-z_0-9]*\.[a-z_0-9]+)`", text))
    missing = [key for key in _keys(Settings) if key not in documented]
    assert missing == []


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, environ={})
    assert settings.lifecycle.silent_after_days == 30
    assert settings.general.timezone == "Asia/Shanghai"
    assert settings.database_url() == f"sqlite:///{tmp_path}/qunyun.db"


def test_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "qunyun.toml"
    path.write_text(
        '[lifecycle]\nsilent_after_days = 21\n[database]\nurl = "sqlite:///data/q.db"\n', encoding="utf-8"
    )
    settings = load_settings(path, environ={"QUNYUN_LIFECYCLE__CHURN_INACTIVE_DAYS": "60"})
    assert (settings.lifecycle.silent_after_days, settings.lifecycle.churn_inactive_days) == (21, 60)
    assert settings.database_url() == f"sqlite:///{tmp_path}/data/q.db"
    env = {"QUNYUN_DATABASE_URL": "postgresql://u@h/db"}
    assert load_settings(path, environ=env).database_url() == "postgresql://u@h/db"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[lifecycle]\nsilent_after_days = -1\n", "lifecycle.silent_after_days"),
        ("[lifecycle]\nsilent_afer_days = 3\n", "lifecycle.silent_afer_days"),
        ('[general]\ntimezone = "Mars/Base"\n', "unknown timezone"),
        ("[lifecycle\n", "qunyun.toml"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "qunyun.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert fragment in caught.value.message


def test_a_target_can_be_switched_off(tmp_path: Path) -> None:
    path = tmp_path / "qunyun.toml"
    path.write_text("[targets]\nnps = false\ninteraction_rate = 0.4\n", encoding="utf-8")
    targets = load_settings(path, environ={}).targets
    assert (targets.nps, targets.interaction_rate, targets.churn_rate) == (None, 0.4, 0.05)
