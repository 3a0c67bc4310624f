"""The fake Xero's HTTP server (werkzeug, in a thread): the identity host's token endpoint and
the Accounting API's list endpoints, under one origin.

Set XERO_IDENTITY_URL to `fake.url` and XERO_API_URL to `fake.api_url`.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time
from dataclasses import dataclass, field

from dateutil.parser import isoparse, parse
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from xero.fake.builders import contact as contact_json, ms_date, new_id

API_PREFIX = "/api.xro/2.0"
LISTS = {
    "/Invoices": ("Invoices", "InvoiceID"),
    "/CreditNotes": ("CreditNotes", "CreditNoteID"),
    "/Payments": ("Payments", "PaymentID"),
    "/Contacts": ("Contacts", "ContactID"),
}
DEFAULT_PAGE_SIZE = 100  # Xero's page of invoices, credit notes, payments and contacts
MAX_PAGE_SIZE = 1000


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request: the fake serves thousands in a bench."""

    def log_request(self, code="-", size="-") -> None:
        pass


@dataclass
class Call:
    path: str
    page: int
    page_size: int
    if_modified_since: str | None
    status: int


@dataclass
class FakeXero:
    client_id: str = "fake-client"
    client_secret: str = "fake-secret"  # noqa: S105
    token_lifetime: int = 1800
    records: dict[str, list[dict]] = field(
        default_factory=lambda: {k: [] for k, _ in LISTS.values()}
    )
    calls: list[Call] = field(default_factory=list)
    token_requests: int = 0
    minute_limit: int = 60

    def __post_init__(self) -> None:
        self._tokens: dict[str, float] = {}
        self._rate_limited = 0
        self._retry_after = 1
        self._fail: set[tuple[str, int]] = set()
        self._hold: dict[tuple[str, int], threading.Event] = {}
        self.held = threading.Event()  # set when a held page has been asked for
        self._lock = threading.Lock()
        self._clock = 0
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # --- data --------------------------------------------------------------------------------

    def _stamp(self) -> str:
        """A strictly increasing UpdatedDateUTC (ms), as Xero's own stamps are."""
        now = int(time.time() * 1000)
        self._clock = max(self._clock + 1, now)
        return ms_date(dt.datetime.fromtimestamp(self._clock / 1000, tz=dt.UTC))

    def put(self, kind: str, *items: dict) -> None:
        """Add or replace records of `kind` ("Invoices", "CreditNotes", "Payments",
        "Contacts"), stamping UpdatedDateUTC as Xero does on every change."""
        id_key = {k: i for k, i in LISTS.values()}[kind]
        with self._lock:
            existing = {r[id_key]: n for n, r in enumerate(self.records[kind])}
            for item in items:
                item = {**item, "UpdatedDateUTC": self._stamp()}
                if item[id_key] in existing:
                    self.records[kind][existing[item[id_key]]] = item
                else:
                    existing[item[id_key]] = len(self.records[kind])
                    self.records[kind].append(item)
                if kind in ("Invoices", "CreditNotes") and "Contact" in item:
                    self._contact(item["Contact"])

    def _contact(self, ref: dict) -> None:
        if not any(c["ContactID"] == ref["ContactID"] for c in self.records["Contacts"]):
            self.records["Contacts"].append(
                {**contact_json(ref["Name"], ref["ContactID"]), "UpdatedDateUTC": self._stamp()}
            )

    # --- what a test asks for ----------------------------------------------------------------

    def rate_limit_next(self, calls: int = 1, retry_after: int = 1) -> None:
        """The next `calls` API calls answer 429 with Retry-After."""
        self._rate_limited, self._retry_after = calls, retry_after

    def expire_tokens(self) -> None:
        """Every token issued so far is expired from now on."""
        self._tokens = dict.fromkeys(self._tokens, 0.0)

    def fail_once(self, path: str, page: int) -> None:
        """The next request of that list page answers 500."""
        self._fail.add((path, page))

    def hold(self, path: str, page: int) -> threading.Event:
        """The next request of that list page waits (at most 60 s) until the returned event
        is set: a test kills the client meanwhile."""
        release = threading.Event()
        self._hold[(path, page)] = release
        return release

    def api_calls(self) -> list[Call]:
        return [c for c in self.calls if c.path != "/connect/token"]

    # --- HTTP --------------------------------------------------------------------------------

    def wsgi(self, environ, start_response):
        request = Request(environ)
        if request.path == "/connect/token" and request.method == "POST":
            response = self._token(request)
        elif request.path.startswith(API_PREFIX) and request.method == "GET":
            response = self._list(request, request.path[len(API_PREFIX) :])
        else:
            response = _json({"Message": "Not found"}, 404)
        return response(environ, start_response)

    def _token(self, request: Request) -> Response:
        self.token_requests += 1
        form = request.form
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return _json({"error": "invalid_client"}, 400)
        token = secrets.token_urlsafe(24)
        self._tokens[token] = time.time() + self.token_lifetime
        return _json(
            {
                "access_token": token,
                "expires_in": self.token_lifetime,
                "token_type": "Bearer",
                "scope": "accounting.transactions accounting.contacts",
            }
        )

    def _list(self, request: Request, path: str) -> Response:
        page = _int(request.args.get("page"), 1)
        size = min(_int(request.args.get("pageSize"), DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
        since_header = request.headers.get("If-Modified-Since")
        status, response = self._answer(request, path, page, size, since_header)
        self.calls.append(Call(path, page, size, since_header, status))
        return response

    def _answer(self, request, path, page, size, since_header) -> tuple[int, Response]:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        if self._tokens.get(token, 0.0) <= time.time():
            return 401, _json({"Title": "Unauthorized", "Detail": "TokenExpired"}, 401)
        if self._rate_limited:
            self._rate_limited -= 1
            response = _json({"Title": "Too Many Requests"}, 429)
            response.headers["Retry-After"] = str(self._retry_after)
            response.headers["X-Rate-Limit-Problem"] = "minute"
            response.headers["X-MinLimit-Remaining"] = "0"
            return 429, response
        if (path, page) in self._hold:
            release = self._hold.pop((path, page))
            self.held.set()
            release.wait(60)
        if (path, page) in self._fail:
            self._fail.discard((path, page))
            return 500, _json({"Message": "An error occurred"}, 500)
        if path not in LISTS or page < 1:
            return 404, _json({"Message": "Not found"}, 404)
        key, id_key = LISTS[path]
        rows = self.records[key]
        if since_header:
            since = _since(since_header)
            rows = [r for r in rows if _updated(r) > since]
        rows = sorted(rows, key=lambda r: (_updated(r), r[id_key]))
        items = rows[(page - 1) * size : page * size]
        response = _json(
            {
                "Id": new_id(),
                "Status": "OK",
                "ProviderName": "Renoz fake Xero",
                "DateTimeUTC": ms_date(dt.datetime.now(dt.UTC)),
                "pagination": {
                    "page": page,
                    "pageSize": size,
                    "pageCount": max(1, -(-len(rows) // size)),
                    "itemCount": len(rows),
                },
                key: items,
            }
        )
        response.headers["X-MinLimit-Remaining"] = str(
            max(self.minute_limit - len(self.calls) - 1, 1)
        )
        response.headers["X-DayLimit-Remaining"] = "4900"
        response.headers["X-AppMinLimit-Remaining"] = "9900"
        return 200, response

    # --- running -----------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeXero:
        server = make_server(host, port, self.wsgi, threaded=True, request_handler=_QuietHandler)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://{self._server.host}:{self._server.port}"

    @property
    def api_url(self) -> str:
        return self.url + API_PREFIX

    def __enter__(self) -> FakeXero:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default


def _updated(record: dict) -> int:
    return int(record["UpdatedDateUTC"][6:-7])  # "/Date(<ms>+0000)/"


def _since(header: str) -> int:
    """If-Modified-Since, as Xero reads it: an ISO 8601 time in UTC (or an HTTP date)."""
    try:
        value = isoparse(header)
    except ValueError:
        value = parse(header)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp() * 1000)
