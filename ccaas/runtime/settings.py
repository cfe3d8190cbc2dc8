"""Settings from CCAAS_* environment variables and an optional env file."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..errors import ConfigError
from ..web.intake_window import DEFAULT_MAX_IN_FLIGHT
from .logging import LogFormat

PREFIX = "CCAAS_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class Settings(BaseSettings):
    """Every setting of `ccaas serve`; each can be set as CCAAS_<NAME>."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, env_file=None, extra="ignore")

    redis_url: str | None = Field(None, description="Redis to use; empty starts an embedded one")
    tenant: str = Field("default", description="tenant this process serves")
    http_host: str = Field("127.0.0.1", description="address the HTTP API listens on")
    http_port: int = Field(8080, description="port the HTTP API listens on")
    routing_file: Path = Field(Path("config/routing.yaml"), description="routing YAML")
    data_dir: Path = Field(
        Path("var"), description="embedded Redis's data (AOF) and the embedded broker's live here"
    )
    public_url: str = Field(
        "",
        max_length=300,
        pattern=r"^(https?://[^/?#\s]+)?$",
        description="the engine's address as providers and customers reach it "
        "(https://cc.example.com): webhooks are signed over it",
    )
    twilio_auth_token: SecretStr | None = Field(
        None, description="Twilio account's auth token: checks its voice webhooks' signatures"
    )
    whatsapp_app_secret: SecretStr | None = Field(
        None, description="the Meta app's secret: checks WhatsApp webhooks' signatures"
    )
    whatsapp_verify_token: SecretStr | None = Field(
        None, description="the token Meta's subscription check must present (hub.verify_token)"
    )
    whatsapp_access_token: SecretStr | None = Field(
        None, description="sends agents' WhatsApp messages (a system user's token)"
    )
    whatsapp_phone_number_id: str = Field(
        "", max_length=64, pattern=r"^[0-9]*$", description="the business number's id at Meta"
    )
    whatsapp_api_url: str = Field(
        "https://graph.facebook.com/v21.0",
        pattern=r"^https?://",
        description="the Cloud API's base URL (a stand-in's, to test against)",
    )
    messenger_app_secret: SecretStr | None = Field(
        None, description="the Meta app's secret: checks Messenger webhooks' signatures"
    )
    messenger_verify_token: SecretStr | None = Field(
        None, description="the token Meta's Messenger subscription check must present"
    )
    messenger_page_token: SecretStr | None = Field(
        None, description="sends agents' Messenger replies (a page access token)"
    )
    messenger_page_id: str = Field("", max_length=64, pattern=r"^[0-9]*$", description="the page")
    messenger_api_url: str = Field(
        "https://graph.facebook.com/v21.0", pattern=r"^https?://", description="the Send API"
    )
    telegram_secret_token: SecretStr | None = Field(
        None, description="the secret given to setWebhook: checks Telegram's webhooks"
    )
    telegram_bot_token: SecretStr | None = Field(None, description="sends agents' Telegram replies")
    telegram_api_url: str = Field(
        "https://api.telegram.org", pattern=r"^https?://", description="the Bot API"
    )
    chat_identity_secret: SecretStr | None = Field(
        None, description="web chat: a site signs its signed-in users' ids with it (user_hash)"
    )
    smtp_host: str = Field("127.0.0.1", description="address the inbound email listener takes")
    smtp_port: int = Field(2525, ge=0, le=65535, description="its port (0: any free one)")
    smtp_max_bytes: int = Field(
        1024 * 1024, ge=1024, le=50 * 1024 * 1024, description="largest email taken (SMTP SIZE)"
    )
    smtp_relay_url: SecretStr | None = Field(
        None,
        description="where agents' email replies are sent: smtp://user:password@host:587 "
        "(smtps:// for TLS); empty: they wait, undelivered",
    )
    smtp_from: str = Field(
        "ccaas@localhost", max_length=200, description="the address agents' replies come from"
    )
    mqtt_url: SecretStr | None = Field(
        None,
        description="MQTT broker of the adapters (mqtt://user:password@host:1883); empty "
        "starts an embedded one",
    )
    mqtt_broker: Literal["auto", "mosquitto", "amqtt"] = Field(
        "auto", description="embedded broker: auto (mosquitto if on PATH, else amqtt)"
    )
    mqtt_client_id: str = Field(
        "", max_length=100, description="this replica's MQTT session; empty: ccaas-TENANT-HOST"
    )
    mqtt_shared_group: str = Field(
        "",
        max_length=50,
        pattern=r"^[A-Za-z0-9_-]*$",
        description="replicas share inbound topics as $share/GROUP/...; empty: each reads all",
    )
    log_format: LogFormat = Field("auto", description="auto | json | console")
    log_level: str = Field("INFO", description="DEBUG | INFO | WARNING | ERROR")
    router: bool = Field(True, description="run the router in this process")
    max_body_bytes: int = Field(64 * 1024, description="largest accepted HTTP body")
    intake_max_in_flight: int = Field(
        DEFAULT_MAX_IN_FLIGHT,
        ge=1,
        description="new contacts taken in at once; more are answered 429",
    )
    auth_secret: SecretStr | None = Field(
        None, description="signs the API's tokens (32+ bytes); empty: one made in data_dir"
    )
    auth_session_hours: float = Field(
        12.0, gt=0, le=24 * 30, description="how long an agent's sign-in lasts"
    )
    agent_disconnect_grace_seconds: float = Field(
        60.0, gt=0, le=3600, description="an agent whose console is gone this long goes offline"
    )
    events_max_len: int = Field(
        1_000_000, ge=1000, description="event stream: about this many events are kept at most"
    )
    events_max_age_days: float = Field(
        7.0, gt=0, description="event stream: events older than this are trimmed"
    )

    @field_validator(
        "auth_secret",
        "mqtt_url",
        "twilio_auth_token",
        "smtp_relay_url",
        "whatsapp_app_secret",
        "whatsapp_verify_token",
        "whatsapp_access_token",
        "chat_identity_secret",
        "messenger_app_secret",
        "messenger_verify_token",
        "messenger_page_token",
        "telegram_secret_token",
        "telegram_bot_token",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"use one of {', '.join(LOG_LEVELS)}")
        return value.upper()


def known_names() -> list[str]:
    return [PREFIX + name.upper() for name in Settings.model_fields]


def unknown_settings(names: Iterable[str]) -> list[str]:
    """One line per CCAAS_* name that is no setting, with the setting it most looks like."""
    known = known_names()
    lines = []
    for name in sorted(set(names)):
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper in known:
            continue
        # compared without the prefix, which every name shares and would make all look alike
        close = difflib.get_close_matches(
            upper.removeprefix(PREFIX), [k.removeprefix(PREFIX) for k in known], n=1, cutoff=0.6
        )
        hint = f"; did you mean {PREFIX}{close[0]}?" if close else ""
        lines.append(f"{name} is not a setting{hint}")
    return lines


def load_settings(
    env_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """The settings; a CCAAS_* variable (in the environment or the env file) that names no
    setting is refused, so a misspelt one is not silently ignored."""
    environ = os.environ if environ is None else environ
    names = list(environ)
    if env_file is not None:  # a mistyped path must not start on the defaults
        if not env_file.is_file():
            raise ConfigError(f"env file {env_file} is not there (or not a file)")
        names += [name for name in dotenv_values(env_file) if name]
    unknown = unknown_settings(names)
    if unknown:
        raise ConfigError(
            "unknown setting: " + "; ".join(unknown) + " (`ccaas serve --help` lists them)"
        )
    try:
        return Settings(_env_file=env_file)
    except ValidationError as exc:  # named as the operator set it, not as pydantic's field
        problems = [
            f"{PREFIX}{str(error['loc'][0]).upper()}: {error['msg'].removeprefix('Value error, ')}"
            f" (got {error['input']!r})"
            for error in exc.errors()
        ]
        raise ConfigError("bad setting: " + "; ".join(problems)) from exc
