"""The secret the engine signs tokens with: CCAAS_AUTH_SECRET, or one made once under data_dir."""

from __future__ import annotations

import contextlib
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


def signing_secret(settings: Settings, make: bool = True) -> bytes:
    """The configured secret, else the one in `data_dir/auth-secret`: made (mode 0600) on
    first use if `make`, and every replica that shares the folder shares it. Without
    `make` (the CLI) a missing file is a ConfigError saying where it looked."""
    if settings.auth_secret is not None:
        given = settings.auth_secret.get_secret_value().encode("utf-8")
        if len(given) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"CCAAS_AUTH_SECRET must be at least {MIN_SECRET_BYTES} bytes; got {len(given)} "
                "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return given
    path = settings.data_dir / SECRET_FILE
    if not make and not path.exists():
        raise ConfigError(
            f"no signing secret at {path.resolve()} and no CCAAS_AUTH_SECRET: run this with the "
            "settings (and from the folder) of the engine, which makes it at its first start"
        )
    return _secret_file(path)


def _secret_file(path: Path) -> bytes:
    """The secret in `path`, made first if there is none. It is written whole to a file of
    its own and then linked into place, so a replica starting at the same moment reads the
    winner's whole secret, never a part, and a crash leaves no empty file behind."""
    private_dir(path.parent)
    if not path.exists():
        fresh = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(secrets.token_urlsafe(48).encode("ascii") + b"\n")
                file.flush()
                os.fsync(file.fileno())
            with contextlib.suppress(FileExistsError):  # another replica made it first
                os.link(fresh, path)
                log.info("auth_secret_created", path=str(path))
        finally:
            fresh.unlink(missing_ok=True)
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        path.chmod(0o600)  # an older copy or a restore left it readable by others
    secret = path.read_bytes().strip()
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"{path} holds a signing secret shorter than {MIN_SECRET_BYTES} bytes: remove it "
            "(a new one is made; every token signed so far stops working) or set "
            "CCAAS_AUTH_SECRET"
        )
    return secret
