"""The README's admin steps, run as written: the broken rule is refused where it says."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.helpers import TEST_CONFIG, MakeApi

ROOT = Path(__file__).resolve().parents[2]


async def test_the_readme_validate_example_answers_the_line_and_message_it_shows(
    make_api: MakeApi,
) -> None:
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"sed 's/(.+?)/(.+?)/' config/routing\.yaml", readme)
    shown = re.search(r"# 422: errors\[0\] = (\{.*?\})\n```", readme, re.S)
    assert command and shown, "the README's validate example moved: update this test"
    expected = json.loads(re.sub(r"\n#\s*", " ", shown.group(1)))
    broken = (ROOT / "config/routing.yaml").read_text().replace(*command.groups())
    api = await make_api(TEST_CONFIG)
    response = await api.post("/v1/admin/rules/validate", data=broken)
    assert response.status == 422
    assert (await response.json())["errors"][0] == expected
