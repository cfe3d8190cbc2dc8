"""Settings from CCAAS_* environment variables and an optional env file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..errors import ConfigError
from .logging import LogFormat


class Settings(BaseSettings):
    """Every setting of `ccaas serve`; each can be set as CCAAS_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="CCAAS_", env_file=None, extra="ignore")

    redis_url: str | None = Field(None, description="Redis to use; empty starts an embedded one")
    tenant: str = Field("default", description="tenant this process serves")
    http_host: str = Field("127.0.0.1", description="address the HTTP API listens on")
    http_port: int = Field(8080, description="port the HTTP API listens on")
    routing_file: Path = Field(Path("config/routing.yaml"), description="routing YAML")
    data_dir: Path = Field(Path("var"), description="embedded Redis data (AOF) lives here")
    log_format: LogFormat = Field("auto", description="auto | json | console")
    log_level: str = Field("INFO", description="DEBUG | INFO | WARNING | ERROR")
    router: bool = Field(True, description="run the router in this process")
    max_body_bytes: int = Field(64 * 1024, description="largest accepted HTTP body")


def load_settings(env_file: Path | None = None) -> Settings:
    try:
        return Settings(_env_file=env_file)
    except ValidationError as exc:
        raise ConfigError(f"bad setting: {exc}") from exc
