"""The CLI's side of the submit API: calls signed with SigV4 (service ``lambda``), as a function
URL with ``AuthType = AWS_IAM`` requires (botocore's ``SigV4Auth``, the caller's own credentials).

The URL comes from ``GLUE_AUDIT_API_URL`` (the Terraform output ``submit_api_url``). The API's
refusals map to the CLI's exit codes: 400 and 409 are usage (2), 404 not found (1), 403 and
anything else an AWS failure (3); the API's message is printed as it is.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import quote

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError
from botocore.httpsession import URLLib3Session

from glue_audit.cli.commands.common import EXIT_AWS, CommandError, NotFound, UsageError

API_URL_VARIABLE = "GLUE_AUDIT_API_URL"
SERVICE = "lambda"
TIMEOUT_SECONDS = 30
_FUNCTION_URL_REGION = re.compile(r"^https://[a-z0-9]+\.lambda-url\.(?P<region>[a-z0-9-]+)\.on\.aws/?")


class SubmitApi:
    """POST JSON to the submit API, signed with the caller's credentials."""

    def __init__(self, url: str, session: Any | None = None) -> None:
        self.url = url.rstrip("/")
        self._session = session or boto3.session.Session()
        self._http = URLLib3Session(timeout=TIMEOUT_SECONDS)

    @classmethod
    def from_env(cls) -> SubmitApi:
        url = os.environ.get(API_URL_VARIABLE, "").strip()
        if not url:
            raise UsageError(
                f"{API_URL_VARIABLE} is not set: submit and cancel go through the submit API "
                "(the Terraform output submit_api_url; the sandbox's env file sets it)"
            )
        if not url.startswith(("https://", "http://127.0.0.1:", "http://localhost:")):
            raise UsageError(f"{API_URL_VARIABLE}={url!r}: expected an https:// function URL")
        return cls(url)

    @property
    def region(self) -> str:
        match = _FUNCTION_URL_REGION.match(self.url)
        region = match["region"] if match else self._session.region_name
        if not region:
            raise UsageError("no AWS region: set AWS_REGION (the submit API's region signs the call)")
        return str(region)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        credentials = self._session.get_credentials()
        if credentials is None:
            raise CommandError("no AWS credentials to sign the call to the submit API", exit_code=EXIT_AWS)
        request = AWSRequest(
            method="POST",
            url=f"{self.url}{path}",
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json"},
        )
        SigV4Auth(credentials.get_frozen_credentials(), SERVICE, self.region).add_auth(request)
        try:
            response = self._http.send(request.prepare())
        except BotoCoreError as exc:
            raise CommandError(f"submit API {self.url} unreachable: {exc}", exit_code=EXIT_AWS) from None
        try:
            data = json.loads(response.content or b"{}")
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        status = response.status_code
        if 200 <= status < 300:
            return data
        message = str(data.get("message") or data.get("Message") or f"HTTP {status}")
        if status in (400, 409):
            raise UsageError(message)
        if status == 404:
            raise NotFound(message)
        if status == 403:
            raise CommandError(f"submit API refused the call (403): {message}", exit_code=EXIT_AWS)
        raise CommandError(f"submit API failed ({status}): {message}", exit_code=EXIT_AWS)

    def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.post("/requests", body)

    def cancel(self, request_id: str, reason: str | None) -> dict[str, Any]:
        return self.post(
            f"/requests/{quote(request_id, safe='')}/cancel", {"reason": reason} if reason else {}
        )
