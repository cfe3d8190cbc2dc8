"""The secret the engine signs tokens with: CCAAS_AUTH_SECRET, or one made once under data_dir."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

import structlog

from ..domain.tokens import MIN_SECRET_BYTES
from ..errors import ConfigError
from .embedded_redis import private_dir
from .settings import Settings

log = structlog.get_logger("ccaas.auth")
SECRET_FILE = "auth-secret"


def signing_secret(settings: Settings) -> bytes:
    """The configured secret, else the one in `data_dir/auth-secret` (made, mode 0600, on
    first use; every replica that shares the folder shares it)."""
    if settings.auth_secret is not None:
        given = settings.auth_secret.get_secret_value().encode("utf-8")
        if len(given) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"CCAAS_AUTH_SECRET must be at least {MIN_SECRET_BYTES} bytes; got {len(given)} "
                "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return given
    return _secret_file(settings.data_dir / SECRET_FILE)


def _secret_file(path: Path) -> bytes:
    private_dir(path.parent)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            path.chmod(0o600)  # an older copy or a restore left it readable by others
        secret = path.read_bytes().strip()
        if len(secret) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"{path} holds a signing secret shorter than {MIN_SECRET_BYTES} bytes: remove "
                "it (a new one is made; every token signed so far stops working) or set "
                "CCAAS_AUTH_SECRET"
            ) from None
        return secret
    secret = secrets.token_urlsafe(48).encode("ascii")
    with os.fdopen(descriptor, "wb") as file:
        file.write(secret + b"\n")
    log.info("auth_secret_created", path=str(path))
    return secret
