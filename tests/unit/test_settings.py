"""CCAAS_* variables that name no setting are refused, with the setting they look like."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccaas.errors import ConfigError
from ccaas.runtime.settings import known_names, load_settings, unknown_settings


def test_a_misspelt_variable_is_refused_with_the_setting_it_looks_like() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(environ={"CCAAS_REDIS_URI": "redis://x", "PATH": "/bin"})
    assert "CCAAS_REDIS_URI is not a setting; did you mean CCAAS_REDIS_URL?" in refused.value.detail


def test_a_variable_like_no_setting_is_refused_without_a_guess() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(environ={"CCAAS_XMPP_SERVER": "xmpp://broker"})
    assert "CCAAS_XMPP_SERVER is not a setting" in refused.value.detail
    assert "did you mean" not in refused.value.detail


def test_an_env_file_is_checked_too(tmp_path: Path) -> None:
    env_file = tmp_path / "ccaas.env"
    env_file.write_text("CCAAS_TENANT=acme\nCCAAS_LOG_LEVL=DEBUG\n")
    with pytest.raises(ConfigError, match="did you mean CCAAS_LOG_LEVEL"):
        load_settings(env_file, environ={})


def test_the_example_env_file_names_only_settings(repo_root: Path) -> None:
    settings = load_settings(repo_root / "config" / "ccaas.example.env", environ={})
    assert settings.events_max_age_days == 7


def test_other_variables_and_known_settings_are_accepted() -> None:
    load_settings(environ={"CCAAS_HTTP_PORT": "8095", "HOME": "/root", "CCAASX": "1"})


@given(st.sampled_from(known_names()), st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ_", min_size=1))
def test_any_name_but_a_setting_is_refused(name: str, extra: str) -> None:
    assert unknown_settings([name, name.lower()]) == []
    [line] = unknown_settings([name + extra])
    assert line.startswith(f"{name + extra} is not a setting")


def test_an_env_file_that_is_not_there_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "ccaas.env"  # a typo in the path must not start on the defaults
    with pytest.raises(ConfigError) as refused:
        load_settings(missing, environ={})
    assert str(missing) in refused.value.detail


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CCAAS_EVENTS_MAX_LEN", "10"),
        ("CCAAS_HTTP_PORT", "eighty"),
        ("CCAAS_LOG_LEVEL", "verbose"),
        ("CCAAS_INTAKE_MAX_IN_FLIGHT", "0"),
        ("CCAAS_INTAKE_MAX_IN_FLIGHT", "many"),
        ("CCAAS_INTAKE_MAX_IN_FLIGHT", "2.5"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_settings(environ={name: value})
    assert refused.value.detail.startswith(f"bad setting: {name}: ")
    assert repr(value) in refused.value.detail
    assert "pydantic" not in refused.value.detail


def test_the_intake_window_is_read_and_defaults_to_256(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CCAAS_INTAKE_MAX_IN_FLIGHT", raising=False)
    assert load_settings(environ={}).intake_max_in_flight == 256
    monkeypatch.setenv("CCAAS_INTAKE_MAX_IN_FLIGHT", "8")
    assert load_settings(environ={"CCAAS_INTAKE_MAX_IN_FLIGHT": "8"}).intake_max_in_flight == 8


def test_a_log_level_is_read_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCAAS_LOG_LEVEL", "debug")
    assert load_settings(environ={"CCAAS_LOG_LEVEL": "debug"}).log_level == "DEBUG"


def test_every_setting_has_a_row_in_the_readmes_table(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text()
    rows = set(re.findall(r"^\| `(CCAAS_[A-Z_]+)`", readme, re.M))
    assert sorted(set(known_names()) - rows) == [], "settings the README does not list"
    assert sorted(rows - set(known_names())) == [], "rows of settings that are not"
