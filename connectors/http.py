"""A small, careful HTTP client for the pullers, on the standard library alone.

* TLS is verified (the default context); ``http://`` only for localhost, for tests.
* Credentials travel in one header and never appear in messages: every error
  text passes through :meth:`Client.redact`. Redirects are not followed, so a
  credential is never replayed to another host, and a ``Link`` to another
  origin is refused.
* 429 waits as ``Retry-After`` says (capped), else backs off exponentially with
  jitter; 5xx, dropped connections and timeouts are retried a bounded number
  of times. 401 and 403 are one-line errors naming the variables to set.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import random
import re
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from connectors.errors import BadOption, VsmError

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
RETRIES = 6  # attempts after the first, for 429, 5xx and dropped connections
BACKOFF_S = 1.0  # the first backoff; doubles per attempt, with full jitter
MAX_WAIT_S = 120.0  # the longest single wait, whatever Retry-After asks
TIMEOUT_S = 60.0

# Tests replace this to run without waiting.
sleep: Callable[[float], None] = time.sleep


class PullError(VsmError):
    """A source's API refused or failed a request."""


def check_base_url(url: str, what: str) -> str:
    """``url`` without a trailing slash, if it is https (or http on localhost); a one-line error otherwise."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise BadOption(f"{what} {url!r} is not a URL; give it as https://host")
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        raise BadOption(f"{what} {url!r} uses http://, which would send credentials in clear; use https://")
    if parts.username or parts.password:
        raise BadOption(f"{what} must not hold credentials; set them in the environment")
    return url.rstrip("/")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None  # the 3xx reaches the caller as an HTTPError


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: object  # the parsed JSON

    def links(self) -> dict[str, str]:
        """The ``Link`` header's targets by relation (``next``, ``last`` …)."""
        text = self.headers.get("Link") or ""
        return {rel: url for url, rel in re.findall(r'<([^>]*)>\s*;\s*rel="?([A-Za-z]+)"?', text)}


@dataclass
class Client:
    """Requests to one origin, with an authorization header built from the environment."""

    base_url: str
    authorization: str
    secrets: list[str]
    credential_hint: str  # what to set, for 401/403
    retries: int = RETRIES
    min_interval: float = 0.0  # seconds between requests, for APIs with a per-minute limit
    pages: int = 0
    waits: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._origin = _origin(self.base_url)
        self._last = float("-inf")
        self._opener = urllib.request.build_opener(
            _NoRedirect(), urllib.request.HTTPSHandler(context=ssl.create_default_context())
        )

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by '***'."""
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def url(self, path: str, params: Mapping[str, object] | None = None) -> str:
        query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})
        return f"{self.base_url}{path}" + (f"?{query}" if query else "")

    def get(self, url: str) -> Response:
        """GET ``url`` (of this client's origin) as JSON, retrying what is worth retrying."""
        if _origin(url) != self._origin:
            raise PullError(f"the API pointed to another site ({_origin(url)}); vsm does not send credentials there")
        request = urllib.request.Request(url, headers={
            "Accept": "application/json", "Authorization": self.authorization, "User-Agent": "vsm",
        })
        shown = self.redact(urllib.parse.urlsplit(url).path)
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            pause = self._last + self.min_interval - time.monotonic()
            if pause > 0:
                sleep(pause)
            self._last = time.monotonic()
            try:
                with self._opener.open(request, timeout=TIMEOUT_S) as reply:
                    data = reply.read()
                    headers = {k: v for k, v in reply.headers.items()}
                    status = reply.status
            except urllib.error.HTTPError as exc:
                status, headers = exc.code, {k: v for k, v in (exc.headers or {}).items()}
                detail = _detail(exc)
                if status in (401, 403):
                    raise PullError(
                        f"{shown}: the server answered {status} ({'not signed in' if status == 401 else 'forbidden'}); "
                        f"{self.credential_hint}"
                    ) from None
                if (status == 429 or status >= 500) and not last:
                    self._wait(attempt, headers.get("Retry-After") if status in (429, 503) else None)
                    continue
                raise PullError(self.redact(f"{shown}: the server answered {status}{detail}")) from None
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError, socket.timeout, TimeoutError) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, ssl.SSLCertVerificationError):
                    raise PullError(self.redact(f"{shown}: the site's TLS certificate does not verify ({reason.verify_message})")) from None
                if not last:
                    self._wait(attempt, None)
                    continue
                raise PullError(self.redact(
                    f"{shown}: the connection failed {self.retries + 1} times ({type(exc).__name__}: {reason}); "
                    "check the URL and the network, then pull again (the store is unchanged)"
                )) from None
            try:
                body = json.loads(data.decode("utf-8")) if data else None
            except (UnicodeDecodeError, json.JSONDecodeError):
                if not last:  # a page cut short: ask again
                    self._wait(attempt, None)
                    continue
                raise PullError(f"{shown}: the server's answer is not JSON (status {status})") from None
            self.pages += 1
            return Response(status, headers, body)
        raise AssertionError("unreachable")

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        seconds = _retry_after(retry_after)
        if seconds is None:
            seconds = random.uniform(0, BACKOFF_S * 2**attempt)
        seconds = min(max(seconds, 0.0), MAX_WAIT_S)
        self.waits.append(seconds)
        sleep(seconds)


def quote(text: str) -> str:
    """``text`` as one segment of a URL's path."""
    return urllib.parse.quote(text, safe="")


def query_value(url: str, name: str) -> str | None:
    """The value of parameter ``name`` in ``url``'s query string."""
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)).get(name)


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _detail(exc: urllib.error.HTTPError) -> str:
    """The API's own error message, short, if it gave one."""
    try:
        doc = json.loads(exc.read().decode("utf-8", "replace"))
    except Exception:  # noqa: BLE001 - no message is fine
        return ""
    error = doc.get("error") if isinstance(doc, dict) else None
    message = error.get("message") if isinstance(error, dict) else error if isinstance(error, str) else None
    return f": {str(message)[:200]}" if message else ""
