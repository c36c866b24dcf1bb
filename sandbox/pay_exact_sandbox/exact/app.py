"""The Exact Online sandbox as a Flask app: OAuth2, ``current/Me`` and the division API.

URL layout as the real API [C]: ``/api/oauth2/auth``, ``/api/oauth2/token``,
``/api/v1/current/Me`` and ``/api/v1/{division}/{service}/{Entity}``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, request

from pay_exact_sandbox.admin import AdminState, instrument

from . import jsonout, seed
from .admin_api import register_admin
from .config import ExactConfig
from .data import ExactData
from .errors import ExactError, bad_request, error_body
from .limits import ErrorBudget, RateLimiter
from .oauth import OAuthServer, TokenError
from .odata import Query, key_literal, next_link, parse_query, run_query, serialize
from .resources import LINE_SETS, EntitySet, find
from .schema import ME, TYPES
from .store import ExactStore
from .values import GUID_RE

Row = dict[str, Any]
_SEGMENT_RE = re.compile(r"^([A-Za-z]+)(?:\((.*)\))?$")
JSON_TYPE = "application/json; charset=utf-8"


@dataclass
class ExactRuntime:
    """Everything one sandbox holds; ``app.extensions["exact_sandbox"]``."""

    config: ExactConfig
    store: ExactStore
    oauth: OAuthServer
    limiter: RateLimiter
    budget: ErrorBudget
    admin: AdminState

    def configure(self, **changes: Any) -> ExactConfig:
        """Change settings of the running sandbox (tests and ``/_admin/exact/config``)."""
        config = dataclasses.replace(self.config, **changes)
        with self.store.lock:
            self.config = config
            for part in (self.store, self.oauth, self.limiter, self.budget):
                part.config = config
            self.store.touch()  # cached read views follow the new settings
        return config


def create_exact_app(
    data: ExactData, *, config: ExactConfig | None = None, admin: AdminState | None = None
) -> Flask:
    config = config or ExactConfig()
    app = Flask("pay_exact_sandbox.exact")
    state = instrument(app, admin)
    now = state.clock.now
    runtime = ExactRuntime(
        config=config,
        store=ExactStore(config, now),
        oauth=OAuthServer(config, now),
        limiter=RateLimiter(config, now),
        budget=ErrorBudget(config, now),
        admin=state,
    )
    seed.load(runtime.store, data)
    app.extensions["exact_sandbox"] = runtime
    _register_oauth(app, runtime)
    _register_api(app, runtime)
    register_admin(app, runtime)
    return app


# -- responses ---------------------------------------------------------------------------------
def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    response = Response(jsonout.dumps(body), status=status, content_type=JSON_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _error(
    runtime: ExactRuntime, exc: ExactError, headers: dict[str, str] | None = None
) -> Response:
    return _json(exc.status, exc.body(runtime.config.language), {**(headers or {}), **exc.headers})


# -- OAuth -------------------------------------------------------------------------------------
def _register_oauth(app: Flask, runtime: ExactRuntime) -> None:
    @app.get("/api/oauth2/auth")
    def authorize() -> Response:
        args = request.args
        redirect_uri = args.get("redirect_uri")
        try:
            code = runtime.oauth.authorize(args.get("client_id"), redirect_uri)
        except TokenError as exc:
            return _json(exc.status, exc.body())
        assert redirect_uri is not None
        state = args.get("state")
        if args.get("response_type") == "token":
            tokens = runtime.oauth.mint(args.get("client_id"))
            fragment = {
                "access_token": tokens["access_token"],
                "token_type": "bearer",
                "expires_in": tokens["expires_in"],
            }
            if state is not None:
                fragment["state"] = state
            location = f"{redirect_uri}#{urlencode(fragment)}"
        else:
            params = {"code": code}
            if state is not None:
                params["state"] = state
            sep = "&" if "?" in redirect_uri else "?"
            location = f"{redirect_uri}{sep}{urlencode(params)}"
        response = Response("", status=302)
        response.headers["Location"] = location
        return response

    @app.post("/api/oauth2/token")
    def token() -> Response:
        form = {k: v for k, v in request.form.items()}
        basic = request.authorization
        if basic is not None and basic.type == "basic" and "client_id" not in form:
            # Client credentials in an HTTP Basic header, as OAuth libraries send them by default
            # (RFC 6749 §2.3.1 client_secret_basic); see sandbox/README.md for the evidence.
            form["client_id"] = basic.username or ""
            form["client_secret"] = basic.password or ""
        try:
            body = runtime.oauth.token(form)
        except TokenError as exc:
            headers = {"Reason": exc.reason} if exc.reason else {}
            return _json(exc.status, exc.body(), headers)
        return _json(200, body, {"Cache-Control": "no-store"})


# -- API ---------------------------------------------------------------------------------------
def _wants_json() -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept or request.args.get("$format") == "json"


def _register_api(app: Flask, runtime: ExactRuntime) -> None:
    store = runtime.store
    language = runtime.config.language

    @app.get("/api/v1/current/Me")
    def me() -> Response:
        connection, problem = runtime.oauth.check_bearer(request.headers.get("Authorization"))
        if problem:
            return _error(runtime, ExactError(401, "unauthorized", headers=_www_auth()))
        assert connection is not None
        # current/Me does not count against a division; it shows the division's headers.
        headers = runtime.limiter.peek((connection.client_id, store.code))
        if not _wants_json():
            # The real API answers Atom XML; refusing makes a missing header obvious [I].
            return _error(runtime, ExactError(406, "not_acceptable"), headers)
        try:
            query = parse_query(request.args, ME)
        except ExactError as exc:
            return _error(runtime, exc, headers)
        with store.lock:
            row = dict(store.me, ServerTime=store.now().isoformat())
        base = request.host_url.rstrip("/")
        url = f"{base}/api/v1/current/Me(guid'{row['UserID']}')"
        result = serialize(row, ME, query, url, lambda _key: "")
        return _json(200, {"d": {"results": [result]}}, headers)

    @app.route("/api/v1/<division>/<path:rest>", methods=["GET", "POST", "PUT", "DELETE"])
    def division_api(division: str, rest: str) -> Response:
        connection, problem = runtime.oauth.check_bearer(request.headers.get("Authorization"))
        endpoint = _endpoint(division, rest)
        division_key = int(division) if division.isdigit() else division
        if problem:
            headers: dict[str, str] = {}
            if connection is not None:  # an expired token still names the app
                runtime.budget.record((connection.client_id, endpoint), 401)
                headers = runtime.limiter.peek((connection.client_id, division_key))
            return _error(runtime, ExactError(401, "unauthorized", headers=_www_auth()), headers)
        assert connection is not None
        budget_key = (connection.client_id, endpoint)
        limit_key = (connection.client_id, division_key)
        if division_key != store.code:
            runtime.budget.record(budget_key, 403)
            return _error(
                runtime,
                ExactError(
                    403,
                    "no_division_access",
                    {"division": division},
                    {"Reason": "NoDivisionAccess"},
                ),
                runtime.limiter.peek(limit_key),
            )
        wait = runtime.budget.blocked(budget_key)
        if wait is not None:
            headers = {**runtime.limiter.peek(limit_key), "Retry-After": str(wait)}
            until = runtime.budget.blocked_until(budget_key) or 0
            return _error(
                runtime, ExactError(429, "error_budget", {"until": f"{until:.0f}"}), headers
            )
        verdict = runtime.limiter.consume(limit_key)
        if not verdict.allowed:
            return _error(runtime, ExactError(429, "too_many_requests"), verdict.headers)
        try:
            if request.method in ("GET", "POST") and not _wants_json():
                raise ExactError(406, "not_acceptable")
            with store.lock:
                try:
                    response = _dispatch(runtime, int(division), rest)
                finally:
                    if request.method != "GET":
                        store.touch()
        except ExactError as exc:
            response = Response(
                jsonout.dumps(exc.body(language)), status=exc.status, content_type=JSON_TYPE
            )
            for name, value in exc.headers.items():
                response.headers[name] = value
        runtime.budget.record(budget_key, response.status_code)
        for name, value in verdict.headers.items():
            response.headers[name] = value
        return response


def _www_auth() -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer error="invalid_token"'}


def _endpoint(division: str, rest: str) -> str:
    """The endpoint an error counts against: the path without keys, query or case."""
    parts = [re.sub(r"\(.*\)$", "", part) for part in rest.split("/")]
    return f"{division}/" + "/".join(parts).lower()


def _resolve(rest: str) -> tuple[EntitySet, str | None, list[str]]:
    segments = rest.split("/")
    for size in (3, 2):
        if len(segments) < size:
            continue
        match = _SEGMENT_RE.match(segments[size - 1])
        if not match:
            continue
        found = find("/".join([*segments[: size - 1], match.group(1)]))
        if found is not None:
            return found, match.group(2), segments[size:]
    raise ExactError(404, "not_found", {"what": rest})


def _parse_key(entity_set: EntitySet, raw: str) -> Any:
    kind = entity_set.entity.fields[entity_set.entity.key]
    if kind == "guid":
        match = re.fullmatch(r"guid'(.*)'", raw.strip())
        if not match or not GUID_RE.match(match.group(1)):
            raise bad_request("odata", detail=f"Bad key '{raw}': use guid'...'.")
        return match.group(1).lower()
    text = raw.strip().rstrip("L")
    if not text.lstrip("-").isdigit():
        raise bad_request("odata", detail=f"Bad key '{raw}'.")
    return int(text)


def _find_row(runtime: ExactRuntime, entity_set: EntitySet, key: Any) -> Row:
    for row in entity_set.rows(runtime.store):
        if row.get(entity_set.entity.key) == key:
            return row
    raise ExactError(404, "not_found", {"what": f"{entity_set.path}({key})"})


def _dispatch(runtime: ExactRuntime, division: int, rest: str) -> Response:
    entity_set, raw_key, tail = _resolve(rest)
    method = request.method
    if method not in entity_set.methods:
        error = ExactError(405, "method_not_allowed", {"method": method, "what": entity_set.path})
        error.headers["Allow"] = ", ".join(sorted(entity_set.methods))
        raise error
    base = request.host_url.rstrip("/")
    prefix = f"{base}/api/v1/{division}"
    entity = entity_set.entity

    def entity_url(es_path: str, key_text: str) -> str:
        return f"{prefix}/{es_path}({key_text})"

    if method == "GET":
        if raw_key is None:
            return _get_collection(
                runtime, entity_set, entity_set.rows(runtime.store), tail, prefix
            )
        row = _find_row(runtime, entity_set, _parse_key(entity_set, raw_key))
        if tail:
            nav = tail[0]
            if nav not in entity.nav or len(tail) > 1:
                raise ExactError(404, "not_found", {"what": rest})
            child_set = find(LINE_SETS[entity.nav[nav]])
            assert child_set is not None
            return _get_collection(runtime, child_set, row[nav], [], prefix)
        query = parse_query(request.args, entity)
        url = entity_url(entity_set.path, key_literal(entity, row[entity.key]))
        return _json(200, {"d": serialize(row, entity, query, url, _child_url(prefix, entity))})
    if tail:
        raise ExactError(404, "not_found", {"what": rest})
    if method == "POST":
        if raw_key is not None:
            raise ExactError(405, "method_not_allowed", {"method": method, "what": rest})
        body = _body()
        assert entity_set.create is not None
        row = entity_set.create(runtime.store, body)
        prefer = request.headers.get("Prefer", "")
        if "return=representation" in prefer:
            query = Query()
        else:
            # Without the Prefer header only the sent properties and the key come back [I].
            sent = [k for k in body if k in entity.fields or k in entity.nav]
            query = Query(select=[entity.key, *sent])
        url = entity_url(entity_set.path, key_literal(entity, row[entity.key]))
        response = _json(201, {"d": serialize(row, entity, query, url, _child_url(prefix, entity))})
        response.headers["Location"] = url
        return response
    if raw_key is None:
        raise ExactError(405, "method_not_allowed", {"method": method, "what": rest})
    key = _parse_key(entity_set, raw_key)
    if method == "PUT":
        assert entity_set.update is not None
        entity_set.update(runtime.store, key, _body())
    else:
        assert entity_set.delete is not None
        entity_set.delete(runtime.store, key)
    return Response("", status=204)


def _child_url(prefix: str, entity: Any) -> Any:
    def url(key_text: str) -> str:
        child = next(iter(entity.nav.values()), None)
        path = LINE_SETS.get(child or "", "")
        return f"{prefix}/{path}({key_text})"

    return url


def _body() -> Row:
    raw = request.get_data()
    try:
        body = jsonout.loads(raw) if raw else None
    except ValueError as exc:
        raise bad_request("bad_body") from exc
    if not isinstance(body, dict):
        raise bad_request("bad_body")
    return body


def _get_collection(
    runtime: ExactRuntime,
    entity_set: EntitySet,
    rows: Any,
    tail: list[str],
    prefix: str,
) -> Response:
    entity = entity_set.entity
    kind = entity_set.kind
    query = parse_query(
        request.args,
        entity,
        select_required=entity_set.select_required,
        filterable=entity_set.filterable,
    )
    if tail == ["$count"]:
        rows = [r for r in rows if query.predicate is None or query.predicate(r)]
        return Response(str(len(rows)), status=200, content_type="text/plain; charset=utf-8")
    if tail:
        raise ExactError(404, "not_found", {"what": "/".join(tail)})
    config = runtime.config
    page_size = {
        "normal": config.page_size,
        "bulk": config.bulk_page_size,
        "sync": config.bulk_page_size,
        "read": config.read_page_size,
    }[kind]
    page = run_query(rows, query, entity_set.key, page_size)
    child_url = _child_url(prefix, entity)
    results = [
        serialize(
            row,
            entity,
            query,
            f"{prefix}/{entity_set.path}({key_literal(entity, row[entity.key])})",
            child_url,
        )
        for row in page.rows
    ]
    payload: Row = {"results": results}
    if query.inlinecount:
        payload["__count"] = str(page.count)
    if page.next_token is not None:
        payload["__next"] = next_link(
            f"{prefix}/{entity_set.path}", request.args, entity, entity_set.key, page
        )
    return _json(200, {"d": payload})


__all__ = ["TYPES", "ExactRuntime", "create_exact_app", "error_body"]
