"""Shared test values: a small routing configuration and builders."""

from __future__ import annotations

from ccaas.domain.rules.schema import RoutingConfig

TEST_CONFIG = RoutingConfig.model_validate(
    {
        "aging_seconds_per_priority": 10,
        "max_missed_offers": 2,
        "queues": {
            "billing": {"channels": ["voice", "chat"], "offer_timeout_seconds": 20},
            "support": {
                "channels": ["chat", "email", "social"],
                "strategy": "most-skilled",
                "wrap_up_seconds": 5,
            },
            "sales": {"channels": ["voice", "email"], "strategy": "round-robin"},
        },
    }
)
