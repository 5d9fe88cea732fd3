"""The submit API through its real HTTP path: the CLI signs with SigV4, the local function URL
verifies the signature and hands the real handler the caller in ``requestContext.authorizer.iam``,
the handler writes the ledger. Two data-team roles in two teams (analytics, finance), as in the
sandbox; Glue is the emulator's, played by the driver."""

from __future__ import annotations

import contextlib
import io
import json
import os
from datetime import UTC, datetime
from typing import Any

import pytest
import requests as http
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import functions.ingest.handler as ingest_handler
from glue_audit.cli.commands.common import Context
from glue_audit.ledger import request_events
from glue_audit.ledger.models import LedgerItem, RequestEventItem, RequestItem, RequestStatus, RunItem
from glue_audit.ledger.writes import mark_request_from_run
from scripts.engine.emulator import REGION
from scripts.engine.function_url import Identity, LocalFunctionUrl
from scripts.engine.scenario import Estate, build_estate
from scripts.engine.stack import Stack, drain
from tests.integration.test_cli_requests import JOBS, World
from tests.support.cli import cli, one_line
from tests.support.submit_api import known_identities, signed_as


def ledger_items() -> list[LedgerItem]:
    return list(LedgerItem.scan())  # test-side check only


def signed(url: str, body: bytes, identity: Identity, secret: str | None = None) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    credentials = Credentials(identity.access_key, secret or identity.secret_key)
    SigV4Auth(credentials, "lambda", REGION).add_auth(request)
    return dict(request.headers.items())


def submit_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    capsys.readouterr()
    assert cli("submit", *argv, "--json") == 0, capsys.readouterr().err
    answer: dict[str, Any] = json.loads(capsys.readouterr().out)
    return answer


@pytest.fixture
def estate(stack: Stack) -> Estate:
    return build_estate(stack, {"a": "10.20.1.0/26"}, JOBS)


def test_unsigned_or_wrongly_signed_calls_are_refused_with_403_and_write_nothing(
    stack: Stack, estate: Estate, function_url_session: LocalFunctionUrl
) -> None:
    url = f"{function_url_session.url}/requests"
    body = json.dumps({"job_name": "payments", "argument_sets": [{}]}).encode()
    analytics = known_identities()["analytics"]
    before = function_url_session.invocations

    unsigned = http.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=10)
    wrong_secret = http.post(
        url, data=body, headers=signed(url, body, analytics, secret="not-it"), timeout=10
    )
    tampered_headers = signed(url, body, analytics)
    tampered = http.post(
        url, data=body.replace(b"payments", b"billing"), headers=tampered_headers, timeout=10
    )
    unknown_key = Identity("AKIANOBODY0000000000", "x", "arn:aws:iam::123456789012:user/nobody", "AIDANOBODY")
    unknown = http.post(url, data=body, headers=signed(url, body, unknown_key), timeout=10)

    assert [r.status_code for r in (unsigned, wrong_secret, tampered, unknown)] == [403, 403, 403, 403]
    assert "not signed" in unsigned.json()["Message"]
    assert "signature we calculated does not match" in wrong_secret.json()["Message"]
    assert function_url_session.invocations == before  # the function never ran
    assert ledger_items() == []
    # The same call, signed right, is taken: the refusals were the signatures'.
    good = http.post(url, data=body, headers=signed(url, body, analytics), timeout=10)
    assert good.status_code == 201, good.text
    assert good.json()["submitted_by"] == analytics.arn


def test_the_request_records_the_signed_principal_and_its_team_not_the_callers_word(
    stack: Stack, estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    with signed_as("finance") as fred:
        answer = submit_json(capsys, "payments", "--owner", "somebody-else", "--priority", "90")
    (request_id,) = answer["request_ids"]
    assert (answer["team"], answer["submitted_by"], answer["priority"]) == ("finance", fred.arn, 90)
    assert cli("request", request_id, "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["submitted_by"], shown["team"], shown["owner"]) == (fred.arn, "finance", "somebody-else")

    # A body naming someone else changes nothing: the API has no field for it.
    url = f"{os.environ['GLUE_AUDIT_API_URL']}/requests"
    body = json.dumps(
        {"job_name": "payments", "submitted_by": "arn:aws:iam::123456789012:role/admin"}
    ).encode()
    refused = http.post(url, data=body, headers=signed(url, body, fred), timeout=10)
    assert refused.status_code == 400 and "unknown field(s) submitted_by" in refused.json()["message"]


def test_a_priority_above_the_team_cap_exits_2_naming_the_cap_and_writes_nothing(
    stack: Stack, estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    with signed_as("analytics"):
        assert cli("submit", "payments", "--priority", "71") == 2
        assert one_line(capsys.readouterr().err) == (
            "glue-audit submit: priority 71 is above team analytics's cap of 70; nothing was submitted"
        )
        assert cli("submit", "payments", "--team", "finance") == 3  # not its team: refused (403)
        assert "is not in team 'finance'" in one_line(capsys.readouterr().err)
    assert ledger_items() == []


def test_a_principal_in_no_team_is_refused(
    stack: Stack, estate: Estate, function_url_session: LocalFunctionUrl, capsys: pytest.CaptureFixture[str]
) -> None:
    outsider = Identity(
        "AKIAOUTSIDER00000000", "secret", "arn:aws:sts::123456789012:assumed-role/intern/x", "X"
    )
    function_url_session.identities[outsider.access_key] = outsider  # signs right, belongs nowhere
    try:
        url = f"{function_url_session.url}/requests"
        body = json.dumps({"job_name": "payments"}).encode()
        refused = http.post(url, data=body, headers=signed(url, body, outsider), timeout=10)
    finally:
        del function_url_session.identities[outsider.access_key]
    assert refused.status_code == 403
    assert refused.json()["message"].startswith(f"{outsider.arn} is in no team")
    assert ledger_items() == []


def test_cancel_of_another_teams_request_is_refused_and_of_ones_own_run_stops_it_with_events(
    stack: Stack, estate: Estate, lambda_context: object, capsys: pytest.CaptureFixture[str]
) -> None:
    # A team's rule on the request state changes, as the README shows it in Terraform.
    sqs, events = stack.client("sqs"), stack.client("events")
    queue = sqs.create_queue(QueueName="analytics-notifications")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": [request_events.SOURCE], "detail-type": [request_events.DETAIL_TYPE]}
    events.put_rule(Name="analytics-requests", EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule="analytics-requests", Targets=[{"Id": "q", "Arn": arn}])

    with signed_as("analytics") as ana:
        (request_id,) = submit_json(capsys, "payments", "--arg", "day=1")["request_ids"]
    world = World(stack, estate, lambda_context)  # its clock starts after the submission
    world.tick()  # claimed and launched
    world.driver.discover(world.now)
    assert RequestItem.get(*RequestItem.key(request_id)).status == RequestStatus.LAUNCHED

    with signed_as("finance"):
        assert cli("cancel", request_id) == 3
    assert "may not cancel request" in one_line(capsys.readouterr().err)
    assert RequestItem.get(*RequestItem.key(request_id)).stop_requested_by is None

    with signed_as("analytics"):
        assert cli("cancel", request_id, "--json") == 0
    stopped = json.loads(capsys.readouterr().out)
    assert (stopped["action"], stopped["stop_requested_by"]) == ("stop-requested", ana.arn)
    (driven,) = world.driver.stopping()  # Glue was asked (BatchStopJobRun)
    world.driver.finish(driven, "STOPPED", datetime.now(UTC))
    with contextlib.redirect_stdout(io.StringIO()):  # the function's EMF metrics lines
        drain(stack, ingest_handler.lambda_handler, lambda_context)

    assert cli("request", request_id, "--events", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["run_state"] == "STOPPED" and shown["stop_requested_by"] == ana.arn
    kinds = [(e["kind"], e["by"]) for e in shown["events"]]
    assert kinds == [
        ("submitted", ana.arn),
        ("claimed", "glue-audit"),
        ("launched", "glue-audit"),
        ("stop-requested", ana.arn),
        ("finished", "glue-audit"),
    ]
    assert shown["events"][-1]["run_state"] == "STOPPED"

    # Append-only: the end recorded again (a duplicated Glue event) adds nothing.
    (run,) = [i for i in LedgerItem.request_index.query(request_id) if isinstance(i, RunItem)]
    assert mark_request_from_run(run) is False
    assert len(list(request_events.events_of(request_id))) == 5

    # Each change reached the team's rule, in order, with the documented detail.
    received = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        received += [json.loads(m["Body"]) for m in messages]
        sqs.delete_message_batch(
            QueueUrl=queue,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
    mine = [e for e in received if e["detail"]["request_id"] == request_id]
    assert {e["source"] for e in mine} == {"glue-audit"}
    assert {e["detail-type"] for e in mine} == {"Glue Audit Request State Change"}
    assert sorted(e["detail"]["kind"] for e in mine) == sorted(kind for kind, _ in kinds)
    finished = next(e["detail"] for e in mine if e["detail"]["kind"] == "finished")
    assert (finished["run_state"], finished["team"], finished["submitted_by"]) == (
        "STOPPED",
        "analytics",
        ana.arn,
    )


def test_events_are_never_overwritten(stack: Stack) -> None:
    at = datetime.now(UTC)
    assert request_events.record("req-x", "cancelled", at, "arn:aws:iam::123456789012:role/a", reason="first")
    assert not request_events.record(
        "req-x", "cancelled", at, "arn:aws:iam::123456789012:role/b", reason="again"
    )
    (event,) = request_events.events_of("req-x")
    assert isinstance(event, RequestEventItem) and (event.by, event.detail) == (
        "arn:aws:iam::123456789012:role/a",
        {"reason": "first"},
    )


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_submit_wait_shows_progress_on_a_terminal_and_on_failure_the_run_error_and_log_link(
    stack: Stack, estate: Estate, lambda_context: object
) -> None:
    world = World(stack, estate, lambda_context, end_state="FAILED")
    screen = Terminal()
    with world.driver:
        assert cli("submit", "payments", "--wait", ctx=Context(sleep=world.step, out=screen)) == 4
    text = screen.getvalue()
    frames = [frame.strip() for frame in text.split("\r") if frame.strip()]
    states = [frame.split()[1] for frame in frames if frame.startswith("req-")]
    assert states[:3] == ["PENDING", "STARTING", "RUNNING"]  # state and elapsed, rewritten in place
    (run,) = [i for i in LedgerItem.scan() if isinstance(i, RunItem)]  # test-side check only
    assert f"run {run.run_id} ended FAILED: boom" in text
    assert (
        f"logs: https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}#logsV2:log-groups"
        in text
    )
    assert run.run_id in text.split("logs: ")[1]


def test_submit_wait_prints_no_progress_when_not_on_a_terminal(
    stack: Stack, estate: Estate, lambda_context: object
) -> None:
    world = World(stack, estate, lambda_context)
    out = io.StringIO()
    with world.driver:
        assert cli("submit", "payments", "--wait", ctx=Context(sleep=world.step, out=out)) == 0
    assert "\r" not in out.getvalue()
