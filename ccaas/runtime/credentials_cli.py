"""`ccaas token create` and `ccaas agents password`: tokens and passwords from the shell."""

from __future__ import annotations

import datetime as dt
import getpass
import re
import sys
from urllib.parse import quote

import aiohttp

from ..domain.passwords import check_password_text
from ..domain.roles import Principal, Role
from ..domain.tokens import TokenSigner
from ..errors import CcaasError, ConfigError
from .settings import Settings
from .signing_secret import signing_secret

DAY_SECONDS = 24 * 3600
AGENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
ADMIN_CALL_SECONDS = 300  # the token `agents password` signs for its one call


def create_token(settings: Settings, role: str, name: str, days: int) -> str:
    """What `ccaas token create` prints: a line on the token, then the token alone."""
    if not 1 <= days <= 3650:
        raise ConfigError(f"--days must be 1 to 3650; got {days}")
    if not name or len(name) > 200:
        raise ConfigError("--name must be 1 to 200 characters")
    signer = TokenSigner(signing_secret(settings, make=False), settings.tenant)
    issued = signer.issue(Principal(Role(role), name), days * DAY_SECONDS)
    until = dt.datetime.fromtimestamp(issued.expires_at, dt.UTC).isoformat(timespec="seconds")
    about = f"token for {name} (role {role}, tenant {settings.tenant}), valid until {until}:"
    return f"{about}\n{issued.token}"


def read_new_password(from_stdin: bool) -> str:
    """The password from standard input (one line), or asked twice on the terminal."""
    if from_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("new password: ")
        if getpass.getpass("again: ") != password:
            raise ConfigError("the two passwords differ; nothing was changed")
    check_password_text(password)
    return password


async def set_agent_password(settings: Settings, agent_id: str, password: str) -> str:
    """Set the password through the running engine's API (so it is checked and logged as any
    admin's call); what to print."""
    if not AGENT_ID.fullmatch(agent_id):
        raise ConfigError(f"{agent_id[:80]!r} is no agent id (letters, digits, _ . : -)")
    signer = TokenSigner(signing_secret(settings, make=False), settings.tenant)
    admin = signer.issue(Principal(Role.ADMIN, "ccaas agents password"), ADMIN_CALL_SECONDS)
    host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::") else settings.http_host
    url = f"http://{host}:{settings.http_port}/v1/agents/{quote(agent_id, safe='')}/password"
    headers = {"Authorization": f"Bearer {admin.token}"}
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.put(url, json={"password": password}, headers=headers) as response,
        ):
            body = await response.json(content_type=None)
    except aiohttp.ClientError as exc:
        raise ConfigError(
            f"could not reach the engine at {url} ({exc}): is `ccaas serve` running with the "
            "same settings?"
        ) from exc
    if response.status != 200:
        detail = body.get("detail") if isinstance(body, dict) else body
        raise CcaasError(f"the engine refused: {response.status} {detail}")
    return f"password set for agent {agent_id}"
