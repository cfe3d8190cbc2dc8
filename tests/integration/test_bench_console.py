"""`ccaas bench console` on a few consoles: every offer is delivered, and the JSON has the
documented shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_a_small_console_bench_delivers_every_offer(repo_root: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "ccaas.cli", "bench", "console", "--agents", "20",
         "--rate", "40", "--seconds", "1", "--json"],
        cwd=repo_root, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    result = json.loads(run.stdout.splitlines()[-1])
    assert {"agents", "offers", "p50_ms", "p99_ms", "bytes_per_connection"} <= set(result)
    assert (result["agents"], result["offers"], result["arrivals"]) == (20, 40, 40)
    assert 0 < result["p50_ms"] <= result["p99_ms"]
