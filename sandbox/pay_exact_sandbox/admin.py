"""What both sandboxes share: a request log, fault injection, a drivable clock and their admin API.

Admin endpoints live under ``/_admin/`` on each sandbox and are never logged or faulted:

- ``GET /_admin/requests[?path=<prefix>&method=<M>]``: the request log, oldest first.
- ``DELETE /_admin/requests``: clear the log.
- ``GET|POST|DELETE /_admin/faults``: list, add or clear fault rules (see :class:`FaultRule`).
- ``GET|POST /_admin/clock``: read the sandbox clock, or drive it with ``{"advance": seconds}``,
  ``{"set": epoch_seconds}``, ``{"freeze": true|false}``.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

ADMIN_PREFIX = "/_admin/"

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[WSGIEnviron, StartResponse], Iterable[bytes]]


class Clock:
    """Wall-clock time plus an offset, or frozen; tests drive it through the admin API."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at: float | None = None

    def now(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    def set(self, epoch_seconds: float) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = epoch_seconds
            else:
                self._offset = epoch_seconds - time.time()

    def freeze(self, frozen: bool) -> None:
        with self._lock:
            current = self._frozen_at if self._frozen_at is not None else time.time() + self._offset
            if frozen:
                self._frozen_at = current
            else:
                self._frozen_at = None
                self._offset = current - time.time()


@dataclass(slots=True)
class LoggedRequest:
    seq: int
    at: float
    method: str
    path: str
    query: str
    status: int | None
    fault: str | None = None


class RequestLog:
    """Every non-admin request, in arrival order. Never holds headers or bodies (no secrets)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def next_seq(self) -> int:
        with self._lock:
            return len(self._entries) + 1

    def entries(self, *, path: str | None = None, method: str | None = None) -> list[LoggedRequest]:
        with self._lock:
            found = list(self._entries)
        if path:
            found = [e for e in found if e.path.startswith(path)]
        if method:
            found = [e for e in found if e.method == method.upper()]
        return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


FAULT_ACTIONS = ("status", "delay", "drop", "commit_then_drop", "commit_then_status")


@dataclass(slots=True)
class FaultRule:
    """Applies to the next ``count`` requests whose method and path match.

    Actions: ``status`` answers ``status`` (with ``body`` and ``headers``) without handling the
    request; ``delay`` sleeps ``delay`` seconds and then handles it; ``drop`` closes the connection
    without handling it; ``commit_then_drop`` handles it (its effects are committed) and then closes
    the connection without a response; ``commit_then_status`` handles it and answers ``status``
    instead of the real response.
    """

    action: str
    path: str = ".*"
    method: str | None = None
    count: int = 1
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return re.search(self.path, path) is not None


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        if rule.action not in FAULT_ACTIONS:
            raise ValueError(f"unknown fault action {rule.action!r}; use one of {FAULT_ACTIONS}")
        if rule.count < 1:
            raise ValueError("fault count must be at least 1")
        with self._lock:
            self._rules.append(rule)

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first matching rule, with one use consumed."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.count -= 1
                    if rule.count == 0:
                        self._rules.remove(rule)
                    return rule
        return None

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()


def _drop_connection(environ: WSGIEnviron, start_response: StartResponse) -> list[bytes]:
    """Close the client's connection so it receives no response at all."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    # The server still wants a status; writing it to the closed socket is silently dropped.
    start_response("500 Dropped", [])
    return []


class Instrumented:
    """WSGI middleware: logs each request and applies fault rules before or after the app."""

    def __init__(self, app: WSGIApp, log: RequestLog, faults: FaultInjector) -> None:
        self.app = app
        self.log = log
        self.faults = faults

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(ADMIN_PREFIX):
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET").upper()
        entry = LoggedRequest(
            seq=0,
            at=time.time(),
            method=method,
            path=path,
            query=environ.get("QUERY_STRING", ""),
            status=None,
        )
        rule = self.faults.take(method, path)
        if rule is not None:
            entry.fault = rule.action
            if rule.action == "delay":
                time.sleep(rule.delay)
            elif rule.action == "status":
                return self._finish(entry, self._canned(rule, start_response))
            elif rule.action == "drop":
                self._record(entry, None)
                return _drop_connection(environ, start_response)

        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"] = int(status.split(" ", 1)[0])
            if rule is not None and rule.action in ("commit_then_drop", "commit_then_status"):
                return lambda _data: None
            return start_response(status, headers, exc_info)

        body = self.app(environ, capture)
        if rule is not None and rule.action == "commit_then_drop":
            # Consume the app's response so its work completes, then lose it on the wire.
            for _chunk in body:
                pass
            self._record(entry, None)
            return _drop_connection(environ, start_response)
        if rule is not None and rule.action == "commit_then_status":
            for _chunk in body:
                pass
            return self._finish(entry, self._canned(rule, start_response))
        self._record(entry, captured.get("status"))
        return body

    def _canned(self, rule: FaultRule, start_response: StartResponse) -> tuple[int, list[bytes]]:
        payload = rule.body if rule.body is not None else {"error": "injected fault"}
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **rule.headers}
        start_response(f"{rule.status} Injected", list(headers.items()))
        return rule.status, [data]

    def _finish(self, entry: LoggedRequest, result: tuple[int, list[bytes]]) -> list[bytes]:
        status, body = result
        self._record(entry, status)
        return body

    def _record(self, entry: LoggedRequest, status: int | None) -> None:
        entry.status = status
        entry.seq = self.log.next_seq()
        self.log.add(entry)


@dataclass(slots=True)
class AdminState:
    log: RequestLog = field(default_factory=RequestLog)
    faults: FaultInjector = field(default_factory=FaultInjector)
    clock: Clock = field(default_factory=Clock)


def instrument(app: Flask, state: AdminState | None = None) -> AdminState:
    """Add the request log, fault injection and the ``/_admin/`` API to a sandbox app."""
    state = state or AdminState()
    bp = Blueprint("sandbox_admin", __name__, url_prefix="/_admin")

    @bp.get("/requests")
    def list_requests() -> Response:
        found = state.log.entries(path=request.args.get("path"), method=request.args.get("method"))
        return jsonify([asdict(e) for e in found])

    @bp.delete("/requests")
    def clear_requests() -> tuple[str, int]:
        state.log.clear()
        return "", 204

    @bp.get("/faults")
    def list_faults() -> Response:
        return jsonify([asdict(r) for r in state.faults.rules()])

    @bp.post("/faults")
    def add_fault() -> tuple[Response, int]:
        spec = request.get_json(force=True)
        try:
            rule = FaultRule(**spec)
            state.faults.add(rule)
        except (TypeError, ValueError) as exc:
            return jsonify({"error": str(exc)}), 400
        return jsonify(asdict(rule)), 201

    @bp.delete("/faults")
    def clear_faults() -> tuple[str, int]:
        state.faults.clear()
        return "", 204

    @bp.get("/clock")
    def read_clock() -> Response:
        return jsonify({"now": state.clock.now()})

    @bp.post("/clock")
    def drive_clock() -> Response:
        spec = request.get_json(force=True)
        if "freeze" in spec:
            state.clock.freeze(bool(spec["freeze"]))
        if "set" in spec:
            state.clock.set(float(spec["set"]))
        if "advance" in spec:
            state.clock.advance(float(spec["advance"]))
        return jsonify({"now": state.clock.now()})

    app.register_blueprint(bp)
    app.wsgi_app = Instrumented(app.wsgi_app, state.log, state.faults)  # type: ignore[method-assign]
    app.extensions["sandbox_admin"] = state
    return state
