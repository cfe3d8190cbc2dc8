"""Loads the demo centre from seeds/: agents with their presence, then sample contacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ..desk.service import Desk
from ..domain.intake import NewContact
from ..domain.models import Channel, Presence
from ..errors import ConfigError
from ..ingest.service import Ingest
from ..store.agents import AgentProfile, AgentRepository
from ..store.context import StoreContext

log = structlog.get_logger("ccaas.demo")


def _read(path: Path, section: str) -> list[dict[str, Any]]:
    try:
        document = YAML(typ="safe", pure=True).load(path.read_text()) or {}
    except (OSError, YAMLError) as exc:
        raise ConfigError(f"cannot load demo data {path}: {exc}") from exc
    items = document.get(section, [])
    if not isinstance(items, list):
        raise ConfigError(f"{path}: '{section}' must be a list")
    return items


async def load_demo(ctx: StoreContext, seeds_dir: Path) -> tuple[int, int]:
    """Upsert the seeded agents and enqueue the seeded contacts; returns (agents, contacts)."""
    agents, desk, ingest = AgentRepository(ctx), Desk(ctx), Ingest(ctx)
    seeded_agents = _read(seeds_dir / "agents.yaml", "agents")
    for item in seeded_agents:
        profile = AgentProfile(
            name=item["name"],
            skills=dict(item.get("skills", {})),
            queues=list(item.get("queues", [])),
            capacity={Channel(ch): n for ch, n in item.get("capacity", {}).items()},
            profile=item.get("profile", ""),
        )
        await agents.upsert(item["id"], profile)
        await desk.set_presence(
            item["id"], Presence(item.get("presence", "available")), item.get("reason", "")
        )
    seeded_contacts = _read(seeds_dir / "scenarios.yaml", "contacts")
    for item in seeded_contacts:
        await ingest.enqueue(
            NewContact(
                channel=Channel(item["channel"]),
                external_id=str(item["external_id"]),
                queue=item.get("queue", ""),
                skills=dict(item.get("skills", {})),
                priority=int(item.get("priority", 0)),
                customer=item.get("customer"),
                attributes=dict(item.get("attributes", {})),
            )
        )
    log.info("demo_loaded", agents=len(seeded_agents), contacts=len(seeded_contacts))
    return len(seeded_agents), len(seeded_contacts)
