"""docker-compose.yml's replicas share the adapters' topics through mosquitto with the ACL,
and every CCAAS_* variable it sets is a setting (an unknown one would stop them at start)."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from ccaas.channels.mqtt_bridge import BrokerAddress
from ccaas.channels.mqtt_topics import Inbound, Topics
from ccaas.runtime.settings import known_names

REPO = Path(__file__).resolve().parents[2]


def _routers() -> list[dict[str, object]]:
    compose = YAML(typ="safe").load((REPO / "docker-compose.yml").read_text())
    return [s for name, s in compose["services"].items() if name.startswith("router")]


def test_both_replicas_use_the_compose_broker_on_one_shared_group() -> None:
    routers = _routers()
    assert len(routers) == 2
    for router in routers:
        env = router["environment"]
        assert isinstance(env, dict)
        assert set(name for name in env if name.startswith("CCAAS_")) <= set(known_names())
        url = env["CCAAS_MQTT_URL"].replace(
            "${MQTT_ROUTER_PASSWORD:?set it in .env (step 2 above)}", "pw"
        )
        assert BrokerAddress.parse(url) == BrokerAddress("mosquitto", 1883, "router", "pw")
        assert env["CCAAS_MQTT_SHARED_GROUP"] == "ccaas"
    hostnames = {router["hostname"] for router in routers}
    assert len(hostnames) == 2  # each its own MQTT session: ccaas-default-<hostname>


def test_the_acl_lets_routers_share_and_adapters_only_their_own_topics() -> None:
    acl = (REPO / "config" / "mosquitto.acl").read_text()
    users: dict[str, list[str]] = {}
    current = ""
    for line in acl.splitlines():
        if line.startswith("user "):
            current = line.split()[1]
            users[current] = []
        elif line.startswith("topic ") and current:
            users[current].append(line.removeprefix("topic "))
    topics = Topics("default")
    shared = topics.subscription(Inbound.CONTACTS, "ccaas")
    assert "read $share/ccaas/ccaas/v1/#" in users["router"] and shared.startswith(
        "$share/ccaas/ccaas/v1/"
    )
    chat = users["chat-gw"]
    assert f"write {topics.inbound(Inbound.CONTACTS)}" in chat
    assert f"read {topics.outbound_messages('chat')}" in chat
    assert f"read {topics.errors('chat-gw')}" in chat
    assert not [rule for rule in chat if rule.startswith("read") and "/in/" in rule]
    assert not [rule for rule in users["voice-gw"] if "/out/" in rule]
    conf = (REPO / "config" / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf and "acl_file /mosquitto/config/mosquitto.acl" in conf
