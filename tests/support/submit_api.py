"""The submit API's identities and teams in the tests: the emulator's own key ("testing") is a
data-eng role session; the sandbox's analytics and finance roles are there too."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from scripts.engine.emulator import ACCOUNT_ID
from scripts.engine.function_url import Identity, sandbox_identities, sandbox_teams

PREFIX = "glue-audit-test"
TESTER_ARN = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{PREFIX}-data-eng/tester"


def known_identities() -> dict[str, Identity]:
    return {
        "data-eng": Identity("testing", "testing", TESTER_ARN, "AROATESTING:tester"),
        **sandbox_identities(PREFIX),
    }


TEST_TEAMS: dict[str, Any] = {
    "data-eng": {"principals": [f"arn:aws:iam::{ACCOUNT_ID}:role/{PREFIX}-data-eng"], "max_priority": 100},
    **sandbox_teams(PREFIX),
}


@contextmanager
def signed_as(name: str) -> Iterator[Identity]:
    """The CLI's credentials are this identity's inside the block (its key signs the API calls)."""
    identity = known_identities()[name]
    saved = {
        key: os.environ.get(key)
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    }
    os.environ.update(identity.export_lines())
    os.environ.pop("AWS_SESSION_TOKEN", None)
    try:
        yield identity
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
