"""The console's Flask application: one route per page, server-side Jinja2 templates, GET only.

Each request gets a fresh CLI ``Context`` (its clock and its Glue catalog cache), so a page shows
what AWS says now. ``UsageError`` becomes a 400 page and ``NotFound`` a 404 page; an AWS failure a
502 page naming it; anything else a 500 page. No page ever shows a stack trace.
"""

from __future__ import annotations

import functools
import gzip
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask, Response, render_template, request, send_file
from pynamodb.exceptions import PynamoDBException
from werkzeug.exceptions import HTTPException

from glue_audit.cli.commands.common import (
    CommandError,
    Context,
    NotFound,
    UsageError,
    fmt_bytes,
    fmt_duration,
    fmt_number,
    fmt_time,
)
from glue_audit.console import views
from glue_audit.console.pricing import Prices

HERE = Path(__file__).resolve().parent
PAGES = (
    ("overview", "Overview"),
    ("requests", "Requests"),
    ("jobs", "Jobs & runs"),
    ("flow", "Flow"),
    ("whatif", "What if"),
)
log = logging.getLogger("glue_audit.console")


def plotly_js_path() -> Path:
    """plotly.js as the ``plotly`` Python package ships it (no CDN, no network)."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


@functools.cache
def plotly_js_gzip() -> bytes:
    return gzip.compress(plotly_js_path().read_bytes(), compresslevel=6, mtime=0)


def _money(value: float | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _quantity(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}" if value == int(value) else f"{value:.1f}"
    return str(value)


def create_app(
    context: Callable[[], Context] = Context,
    prices: Prices | None = None,
    table: str | None = None,
) -> Flask:
    """``context`` makes the CLI context of each request (tests give a fixed clock)."""
    app = Flask(
        "glue_audit.console",
        template_folder=str(HERE / "templates"),
        static_folder=str(HERE / "static"),
    )
    app.jinja_env.filters.update(
        when=fmt_time,
        duration=fmt_duration,
        size=fmt_bytes,
        number=fmt_number,
        money=_money,
        percent=_percent,
        qty=_quantity,
    )

    def make_prices(ctx: Context) -> Prices:
        return prices or Prices(str(ctx.client("glue").meta.region_name))

    @app.context_processor
    def common() -> dict[str, Any]:
        return {"pages": PAGES, "table": table, "rendered_at": datetime.now(UTC)}

    @app.after_request
    def headers(response: Response) -> Response:
        # Everything the pages load comes from this server: say so to the browser too.
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self' 'unsafe-eval'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.get("/")
    def overview() -> str:
        return render_template("overview.html", page="overview", **views.overview(context(), request.args))

    @app.get("/requests")
    def requests() -> str:
        return render_template(
            "requests.html", page="requests", **views.requests_page(context(), request.args)
        )

    @app.get("/requests/<request_id>")
    def request_detail(request_id: str) -> str:
        return render_template("request.html", page="requests", **views.request_page(context(), request_id))

    @app.get("/jobs")
    def jobs() -> str:
        ctx = context()
        return render_template(
            "jobs.html", page="jobs", **views.jobs_page(ctx, request.args, make_prices(ctx))
        )

    @app.get("/jobs/<job>")
    def job(job: str) -> str:
        ctx = context()
        data = views.job_page(ctx, job, request.args, make_prices(ctx))
        return render_template("job.html", page="jobs", **data)

    @app.get("/jobs/<job>/runs/<run_id>")
    def run(job: str, run_id: str) -> str:
        ctx = context()
        return render_template("run.html", page="jobs", **views.run_page(ctx, job, run_id, make_prices(ctx)))

    @app.get("/flow")
    def flow() -> str:
        return render_template(
            "flow.html", page="flow", pair=None, **views.flow_page(context(), request.args)
        )

    @app.get("/flow/<upstream>/<downstream>")
    def flow_pair(upstream: str, downstream: str) -> str:
        data = views.flow_pair_page(context(), upstream, downstream, request.args)
        return render_template("flow.html", page="flow", pair=(upstream, downstream), **data)

    @app.get("/whatif")
    def whatif() -> str:
        return render_template("whatif.html", page="whatif", **views.whatif_page(request.args))

    @app.get("/vendor/plotly.min.js")
    def plotly_js() -> Response:
        # 4.7 MiB as shipped, 1.4 MiB gzipped: compressed once, kept, cached a day by the browser.
        if "gzip" not in request.headers.get("Accept-Encoding", ""):
            return send_file(plotly_js_path(), mimetype="text/javascript", max_age=86400)
        response = Response(plotly_js_gzip(), mimetype="text/javascript")
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
        response.cache_control.max_age = 86400
        response.cache_control.public = True
        return response

    def error_page(status: int, title: str, message: str) -> tuple[str, int]:
        return render_template("error.html", page=None, status=status, title=title, message=message), status

    @app.errorhandler(UsageError)
    def bad_input(exc: UsageError) -> tuple[str, int]:
        return error_page(400, "Bad request", str(exc))

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound) -> tuple[str, int]:
        return error_page(404, "Not found", str(exc))

    @app.errorhandler(CommandError)
    def command_error(exc: CommandError) -> tuple[str, int]:
        return error_page(400 if exc.exit_code == 2 else 404, "Cannot show this", str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        status = exc.code or 500
        if status == 404:
            return error_page(404, "Not found", f"no page at {request.path}: use the menu above")
        return error_page(status, exc.name, exc.description or exc.name)

    @app.errorhandler(ClientError)
    @app.errorhandler(BotoCoreError)
    @app.errorhandler(PynamoDBException)
    def aws_error(exc: Exception) -> tuple[str, int]:
        log.warning("AWS call failed: %s", exc)
        return error_page(502, "An AWS call failed", f"{type(exc).__name__}: {exc}")

    @app.errorhandler(Exception)
    def internal(exc: Exception) -> tuple[str, int]:
        log.exception("console page failed")
        return error_page(500, "Internal error", "the page failed; the console's log on stderr tells why")

    return app


def serve(app: Flask, port: int, on_ready: Callable[[str], None], host: str = "127.0.0.1") -> None:
    """Serve on ``host:port`` (0: a free port) until interrupted; ``on_ready`` gets the URL."""
    from werkzeug.serving import make_server

    server = make_server(host, port, app, threaded=True)
    on_ready(f"http://{host}:{server.server_port}/")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stderr.flush()
