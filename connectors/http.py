"""The pullers' HTTP client, on ``requests`` with urllib3's ``Retry``.

* TLS is verified against requests' CA bundle (certifi; ``REQUESTS_CA_BUNDLE``
  names another, e.g. a company's); ``http://`` only for localhost, for tests.
* Credentials travel in one header and never appear in messages: every error
  text passes through :meth:`Client.redact`. Redirects are not followed, so a
  credential is never replayed to another host, and a ``Link`` to another
  origin is refused.
* Retries are urllib3's ``Retry``, mounted on the session's adapter: 429 and
  5xx answers, refused or reset connections and timeouts are retried at most
  ``RETRIES`` times; a certificate that does not verify is not retried.
  Three rules are this module's own, as ``Retry`` cannot say them:
  every wait goes through :func:`sleep` and keeps the API's pace (so the pull
  counts its waits and tests need not wait); ``Retry-After`` is honoured on
  429 and 503 up to ``MAX_WAIT_S``, else the backoff has full jitter from the
  first retry on (urllib3's first retry does not wait); and a body cut short
  mid-page, which urllib3 meets only after it handed the answer over, is
  retried by :meth:`Client.get` from the same ``Retry``, so that one budget
  bounds all the retries of a request.
* 401 and 403 are one-line errors naming the variables to set.
"""

from __future__ import annotations

import json
import random
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.exceptions import InvalidHeader, MaxRetryError, ProtocolError
from urllib3.util.retry import Retry

from connectors.errors import BadOption, VsmError

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
RETRIES = 6  # attempts after the first, for 429, 5xx and dropped connections
BACKOFF_S = 1.0  # the first backoff's bound; doubles per attempt, with full jitter
MAX_WAIT_S = 120  # the longest single wait, whatever Retry-After asks
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


class _Retry(Retry):
    """urllib3's ``Retry`` whose waits are this module's: Retry-After on 429 and 503 (capped), else full jitter.

    ``wait`` receives the seconds to wait and waits them; ``new`` hands it on, as urllib3 makes a new
    ``Retry`` at every attempt."""

    RETRY_AFTER_STATUS_CODES = frozenset({429, 503})
    wait: Callable[[float], None] = staticmethod(lambda seconds: sleep(seconds))

    def new(self, **kw: Any) -> _Retry:
        retry = super().new(**kw)
        retry.wait = self.wait
        return retry

    def get_backoff_time(self) -> float:
        """Full jitter: uniform up to ``backoff_factor * 2**(retries - 1)``, from the first retry on."""
        return random.uniform(0, min(MAX_WAIT_S, self.backoff_factor * 2 ** max(len(self.history) - 1, 0)))

    def sleep(self, response: Any = None) -> None:
        seconds = None
        if response is not None and response.status in self.RETRY_AFTER_STATUS_CODES:
            try:
                seconds = self.get_retry_after(response)
            except InvalidHeader:  # a Retry-After that is neither seconds nor a date: back off instead
                seconds = None
        self.wait(min(self.get_backoff_time() if seconds is None else seconds, MAX_WAIT_S))


def _policy(retries: int) -> _Retry:
    """The retry rules: 429 and 5xx on GET; connection errors; never a redirect or a TLS failure."""
    return _Retry(
        total=retries, other=0, redirect=False, allowed_methods={"GET"},
        status_forcelist=[429, *range(500, 600)], raise_on_status=False,
        backoff_factor=BACKOFF_S,  # the caps are MAX_WAIT_S, in _Retry (urllib3 1.26 takes no backoff_max)
    )


class _Header(AuthBase):
    """The Authorization header, set as ``auth`` so that requests never swaps in a ``.netrc`` login."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.value
        return request


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
        self._policy = _policy(self.retries)
        self._policy.wait = self._wait
        self._adapter = HTTPAdapter(max_retries=self._policy)
        self._session = requests.Session()
        self._session.auth = _Header(self.authorization)
        self._session.headers.update({"Accept": "application/json", "User-Agent": "vsm"})
        for prefix in ("https://", "http://"):
            self._session.mount(prefix, self._adapter)

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
        shown = self.redact(urllib.parse.urlsplit(url).path)
        retry = self._policy
        self._pace()  # a retry's wait keeps the pace too (_wait)
        while True:
            self._adapter.max_retries = retry  # a page cut short retries on what the earlier attempts left
            try:
                reply = self._session.get(url, timeout=TIMEOUT_S, allow_redirects=False, stream=True)
            except requests.exceptions.RequestException as exc:
                raise self._failed(shown, exc) from None
            except OSError as exc:  # requests' check of the certificate bundle it was told to use, before any connection
                raise PullError(f"{exc}: set REQUESTS_CA_BUNDLE to a PEM file of the certificate authorities to trust, "
                                "or unset it to use requests' own") from None
            status, headers = reply.status_code, reply.headers
            if status in (401, 403):
                reply.close()
                raise PullError(
                    f"{shown}: the server answered {status} ({'not signed in' if status == 401 else 'forbidden'}); "
                    f"{self.credential_hint}"
                )
            try:
                data = reply.content
                body = json.loads(data.decode("utf-8")) if data and 200 <= status < 300 else None
            except (requests.exceptions.RequestException, UnicodeDecodeError, json.JSONDecodeError) as exc:
                reply.close()
                try:  # a page cut short: ask again, if the budget allows
                    retry = (reply.raw.retries or retry).increment("GET", url, error=ProtocolError(str(exc)))
                except MaxRetryError:
                    if isinstance(exc, requests.exceptions.RequestException):
                        raise self._failed(shown, exc) from None
                    raise PullError(f"{shown}: the server's answer is not JSON (status {status})") from None
                retry.sleep()
                continue
            if not 200 <= status < 300:
                raise PullError(self.redact(f"{shown}: the server answered {status}{_detail(data)}"))
            self.pages += 1
            return Response(status, headers, body)

    def _pace(self) -> None:
        pause = self._last + self.min_interval - time.monotonic()
        if pause > 0:
            sleep(pause)
        self._last = time.monotonic()

    def _wait(self, seconds: float) -> None:
        """A retry's wait, never shorter than the pace, counted in ``waits``."""
        seconds = max(seconds, self._last + self.min_interval - time.monotonic(), 0.0)
        self.waits.append(seconds)
        sleep(seconds)
        self._last = time.monotonic()

    def _failed(self, shown: str, exc: requests.exceptions.RequestException) -> PullError:
        """The one-line error for a request that got no answer, retries and all."""
        reason = _root(exc)
        verify = getattr(reason, "verify_message", None)
        if verify:
            return PullError(self.redact(f"{shown}: the site's TLS certificate does not verify ({verify})"))
        return PullError(self.redact(
            f"{shown}: the connection failed {self.retries + 1} {'time' if self.retries == 0 else 'times'} ({type(reason).__name__}: {reason}); "
            "check the URL and the network, then pull again (the store is unchanged)"
        ))


def quote(text: str) -> str:
    """``text`` as one segment of a URL's path."""
    return urllib.parse.quote(text, safe="")


def query_value(url: str, name: str) -> str | None:
    """The value of parameter ``name`` in ``url``'s query string."""
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)).get(name)


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _root(exc: BaseException) -> BaseException:
    """The error at the bottom of requests' and urllib3's wrappers (a MaxRetryError's reason, and so on)."""
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)), None)
        if inner is None:
            return exc
        exc = inner
    return exc


def _detail(data: bytes) -> str:
    """The API's own error message, short, if it gave one."""
    try:
        doc = json.loads(data.decode("utf-8", "replace"))
    except ValueError:
        return ""
    error = doc.get("error") if isinstance(doc, dict) else None
    message = error.get("message") if isinstance(error, dict) else error if isinstance(error, str) else None
    return f": {str(message)[:200]}" if message else ""
