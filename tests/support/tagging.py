"""A Resource Groups Tagging API that refuses every GetResources (throttled past the client's
retries, or denied), for the paths that must go on without the jobs' tags."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError


class RefusedTagging:
    """``get_paginator("get_resources")`` whose first page fails with ``code``; counts the attempts."""

    def __init__(self, code: str = "ThrottledException", message: str = "Rate exceeded") -> None:
        self.code, self.message = code, message
        self.attempts = 0

    def get_paginator(self, name: str) -> Any:
        assert name == "get_resources", name
        tagging = self

        class Refusing:
            def paginate(self, **_: Any) -> Iterator[dict[str, Any]]:
                yield from ()  # like botocore: the call is made when the first page is read
                tagging.attempts += 1
                raise ClientError(
                    {"Error": {"Code": tagging.code, "Message": tagging.message}}, "GetResources"
                )

        return Refusing()


def throttled() -> RefusedTagging:
    return RefusedTagging("ThrottledException", "Rate exceeded")


def denied() -> RefusedTagging:
    return RefusedTagging("AccessDeniedException", "not authorized to perform: tag:GetResources")
