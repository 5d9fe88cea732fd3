"""A Lambda function URL with ``AuthType = AWS_IAM`` on 127.0.0.1, for the sandbox and the tests.

It does what Lambda does in front of the submit API: it verifies each request's SigV4 signature
(service ``lambda``) against the secret of the access key it names, refuses an unsigned or
wrongly signed request with 403 before any code runs, and calls the real handler
(``functions/submit_api/handler.py``) with the function URL event (payload format 2.0), the
signer's identity in ``requestContext.authorizer.iam``. The identities are the sandbox's: each
access key maps to one principal ARN, as IAM maps a key to its user or role session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import threading
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from glue_audit.config.resources import ResourceNames
from scripts.engine.api_calls import acting_as
from scripts.engine.emulator import ACCOUNT_ID, REGION, FakeLambdaContext, load_handler

SERVICE = "lambda"
MAX_CLOCK_SKEW = timedelta(minutes=5)  # SigV4: a signature is valid within 5 minutes of its time
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<headers>[^,]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True, slots=True)
class Identity:
    """An access key, its secret, and the principal IAM reports for it."""

    access_key: str
    secret_key: str
    arn: str
    user_id: str

    def export_lines(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}


class SignatureRefused(Exception):
    """Why a request is refused (the 403's message)."""


def verify(
    method: str,
    host: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    identities: Mapping[str, Identity],
) -> Identity:
    """The identity whose secret signed the request, or SignatureRefused saying why not."""
    lowered = {name.lower(): value for name, value in headers.items()}
    match = _AUTHORIZATION.match(lowered.get("authorization", ""))
    if match is None:
        raise SignatureRefused("Missing Authentication Token: the request is not signed with SigV4")
    identity = identities.get(match["key"])
    if identity is None:
        raise SignatureRefused(
            f"The security token included in the request is invalid (access key {match['key']})"
        )
    if match["service"] != SERVICE or match["region"] != REGION:
        raise SignatureRefused(
            f"Credential should be scoped to a valid region and service {SERVICE}, not "
            f"{match['region']}/{match['service']}"
        )
    stamp = lowered.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(stamp, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureRefused("the request has no valid X-Amz-Date") from None
    if abs(datetime.now(UTC) - signed_at) > MAX_CLOCK_SKEW or not stamp.startswith(match["date"]):
        raise SignatureRefused("Signature expired: the request was signed more than 5 minutes ago or ahead")
    signed = match["headers"].split(";")
    if "host" not in signed or any(name not in lowered for name in signed if name != "host"):
        raise SignatureRefused("SignedHeaders must include host and name only headers the request has")
    content_hash = lowered.get("x-amz-content-sha256")
    if content_hash is not None and content_hash != hashlib.sha256(body).hexdigest():
        raise SignatureRefused("X-Amz-Content-SHA256 does not match the body")
    request = AWSRequest(
        method=method,
        url=f"http://{host}{target}",
        data=body,
        headers={name: (host if name == "host" else lowered[name]) for name in signed},
    )
    request.context["timestamp"] = stamp
    signer = SigV4Auth(Credentials(identity.access_key, identity.secret_key), SERVICE, REGION)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, match["signature"]):
        raise SignatureRefused(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."
        )
    return identity


def url_event(
    method: str, target: str, headers: Mapping[str, str], body: bytes, identity: Identity, host: str
) -> dict[str, Any]:
    """The event Lambda gives a function behind a function URL (payload format 2.0)."""
    parts = urlsplit(target)
    now = datetime.now(UTC)
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": {name.lower(): value for name, value in headers.items()},
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "sandbox",
            "authorizer": {
                "iam": {
                    "accessKey": identity.access_key,
                    "accountId": ACCOUNT_ID,
                    "callerId": identity.user_id,
                    "cognitoIdentity": None,
                    "principalOrgId": None,
                    "userArn": identity.arn,
                    "userId": identity.user_id,
                }
            },
            "domainName": host,
            "domainPrefix": "sandbox",
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("User-Agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "body": text,
        "isBase64Encoded": encoded,
    }
    return event


class LocalFunctionUrl:
    """``http://127.0.0.1:PORT/``: the submit API behind SigV4 verification, until ``stop``."""

    def __init__(self, identities: list[Identity], names: ResourceNames, port: int = 0) -> None:
        self.identities = {identity.access_key: identity for identity in identities}
        self.function_name = names.function("submit_api")
        self.invocations = 0
        self.refusals = 0
        self.function_logs: deque[str] = deque(maxlen=100)
        # One invocation at a time: the log redirection swaps the process's sys.stdout/sys.stderr.
        self._invoking = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                outer._serve(self)

            do_GET = do_PUT = do_DELETE = do_POST

            def log_message(self, format: str, *args: Any) -> None:  # quiet: the sandbox logs its own
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="function-url", daemon=True)

    def start(self) -> LocalFunctionUrl:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @contextmanager
    def running(self) -> Iterator[LocalFunctionUrl]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def _serve(self, http: BaseHTTPRequestHandler) -> None:
        length = int(http.headers.get("Content-Length") or 0)
        body = http.rfile.read(length) if length else b""
        headers = dict(http.headers.items())
        host = http.headers.get("Host", f"127.0.0.1:{self.port}")
        try:
            identity = verify(http.command, host, http.path, headers, body, self.identities)
        except SignatureRefused as refusal:
            self.refusals += 1
            self._reply(
                http, 403, {"content-type": "application/json"}, json.dumps({"Message": str(refusal)})
            )
            return
        self.invocations += 1
        event = url_event(http.command, http.path, headers, body, identity, host)
        logs = io.StringIO()  # the function's log lines go to its log group, not to the caller
        try:
            with self._invoking, acting_as("submit_api"), redirect_stdout(logs), redirect_stderr(logs):
                result = load_handler("submit_api")(event, FakeLambdaContext(self.function_name))
        except Exception as exc:  # a function error: Lambda answers 502 and logs it
            self.function_logs.append(logs.getvalue())
            self._reply(http, 502, {"content-type": "application/json"}, json.dumps({"Message": repr(exc)}))
            return
        self.function_logs.append(logs.getvalue())
        self._reply(
            http, int(result.get("statusCode", 200)), result.get("headers") or {}, result.get("body") or ""
        )

    @staticmethod
    def _reply(http: BaseHTTPRequestHandler, status: int, headers: Mapping[str, str], body: str) -> None:
        data = body.encode("utf-8")
        http.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                http.send_header(name, value)
        http.send_header("Content-Length", str(len(data)))
        http.end_headers()
        http.wfile.write(data)


def sandbox_identities(prefix: str) -> dict[str, Identity]:
    """Two data-team roles in two teams (the sandbox's and the README's walkthrough)."""
    return {
        "analytics": Identity(
            "AKIASANDBOXANALYTICS",
            "sandbox-analytics-secret",
            f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{prefix}-analytics-engineer/ana",
            "AROASANDBOXANALYTICS:ana",
        ),
        "finance": Identity(
            "AKIASANDBOXFINANCE00",
            "sandbox-finance-secret",
            f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{prefix}-finance-analyst/fred",
            "AROASANDBOXFINANCE00:fred",
        ),
    }


def sandbox_teams(prefix: str) -> dict[str, Any]:
    """The TEAMS the sandbox's submit API reads: the roles of ``sandbox_identities``, by pattern."""
    return {
        "analytics": {
            "principals": [f"arn:aws:iam::{ACCOUNT_ID}:role/{prefix}-analytics-*"],
            "max_priority": 70,
            "dpu_budget": 40,
        },
        "finance": {
            "principals": [f"arn:aws:iam::{ACCOUNT_ID}:role/{prefix}-finance-*"],
            "max_priority": 90,
            "dpu_budget": 60,
        },
    }
