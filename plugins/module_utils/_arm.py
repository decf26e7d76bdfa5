# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure Resource Manager list paging and failure wording (internal helper, pure Python).

Why not ``azure.azcollection.azure_rm_resource_info`` for a paged list: its loop (azure.azcollection
3.21.0 azure/azcollection/plugins/modules/azure_rm_resource_info.py, ``exec_module``: ``query_parameters['skiptoken'] =
skiptoken`` with ``skiptoken = response.get('nextLink')``) sends the whole ``nextLink`` URL again as a
``skiptoken`` query parameter of the first URL -- the first URL's ``$filter`` plus the one inside the
link, and a parameter Recovery Services does not read (its link carries ``$skipToken``), so a service
that answers the first page again makes it loop. ARM's paging contract is to GET the ``nextLink`` as
it is (azure-mgmt-recoveryservicesbackup's ``JobsOperations.list`` does exactly that with
``next_link``). Its GenericRestClient also builds its PipelineClient from a bare azure.core
``Configuration`` (azure/azcollection/plugins/module_utils/azure_rm_common_rest.py), which has no retry policy, so a 429
is not retried: :func:`list_pages` waits the ``Retry-After`` itself, a bounded number of times.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit, urlunsplit

MAX_PAGES = 500
MAX_RETRIES = 4
MAX_RETRY_AFTER = 60.0


class ArmError(Exception):
    """A failed ARM call: ``kind`` is auth, not_found, network, throttled, server, paging or other."""

    def __init__(self, kind, message, status=None):
        super().__init__(message)
        self.kind = kind
        self.status = status


def safe_url(url):
    """``url`` without query string or user info (a link is named, never its tokens or signatures)."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _error_body(text):
    """``(code, message)`` of an ARM error body ``{"error": {"code", "message"}}``, else ('', text head)."""
    try:
        body = json.loads(text) if isinstance(text, (str, bytes)) else text
    except ValueError:
        return "", str(text or "")[:300]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or ""), str(error.get("message") or "")[:300]
    return "", str(text or "")[:300]


def http_failure(status, body_text, what):
    """An :class:`ArmError` for an HTTP answer other than 200, worded for the operator."""
    code, message = _error_body(body_text)
    said = f"{code}: {message}" if code else message
    if status in (401, 403):
        return ArmError(
            "auth",
            f"{what}: authorisation failed (HTTP {status} {said}) -- the credential was accepted by the token"
            " endpoint but has no right here, or the token is for another tenant/cloud",
            status,
        )
    if status == 404:
        return ArmError(
            "not_found",
            f"{what}: not found (HTTP 404 {said}) -- check the subscription, resource group and name",
            status,
        )
    if status == 429:
        return ArmError("throttled", f"{what}: still throttled after {MAX_RETRIES} retries (HTTP 429 {said})", status)
    if status >= 500:
        return ArmError("server", f"{what}: Azure answered HTTP {status} ({said}); try again later", status)
    return ArmError("other", f"{what}: HTTP {status} ({said})", status)


_NETWORK_MARKERS = (
    "unable to connect",
    "connection refused",
    "failed to establish a new connection",
    "name or service not known",
    "temporary failure in name resolution",
    "timed out",
    "connection reset",
    "certificate verify failed",
)


def exception_failure(exc, what):
    """An :class:`ArmError` for an exception raised before any HTTP answer (token, DNS, TLS, connection)."""
    name = type(exc).__name__
    text = str(exc).splitlines()[0][:300] if str(exc) else name
    if name in ("ClientAuthenticationError", "CredentialUnavailableError", "AuthenticationRequiredError"):
        # azure-identity wraps a token endpoint it could not reach in ClientAuthenticationError too
        if any(marker in str(exc).lower() for marker in _NETWORK_MARKERS):
            return ArmError(
                "network", f"{what}: the token endpoint could not be reached ({name}: {text}) -- network or proxy"
            )
        return ArmError(
            "auth", f"{what}: authentication failed ({name}: {text}) -- check the credential, tenant and cloud"
        )
    if name in (
        "ServiceRequestError",
        "ServiceRequestTimeoutError",
        "ConnectionError",
        "SSLError",
        "Timeout",
        "ConnectTimeout",
        "ReadTimeout",
        "OSError",
        "URLError",
    ):
        return ArmError("network", f"{what}: the Resource Manager endpoint could not be reached ({name}: {text})")
    if name == "ServiceResponseError":
        return ArmError("network", f"{what}: the connection broke before an answer ({name}: {text})")
    return ArmError("other", f"{what}: {name}: {text}")


def list_pages(send, url, params, what, sleep=time.sleep, max_pages=MAX_PAGES):
    """Every page of an ARM list: GET ``url`` with ``params``, then each ``nextLink`` exactly as given.

    ``send(url, params)`` returns ``(status, headers, body_text)`` (``params`` is None for a
    ``nextLink``: it already carries api-version, $filter and the skip token). A 429 or 503 is retried
    after its ``Retry-After`` (at most MAX_RETRIES times per page, each wait capped); any other answer
    but 200 raises :class:`ArmError`, as does a link that repeats (a service answering the same page again)
    or more than ``max_pages`` pages.
    """
    pages, seen = [], set()
    next_url, next_params = url, params
    while next_url:
        if len(pages) >= max_pages:
            raise ArmError("paging", f"{what}: more than {max_pages} pages; stopped (last link {safe_url(next_url)})")
        for attempt in range(MAX_RETRIES + 1):
            status, headers, text = send(next_url, next_params)
            if status in (429, 503) and attempt < MAX_RETRIES:
                sleep(_retry_after(headers, attempt))
                continue
            break
        if status != 200:
            raise http_failure(status, text, what)
        try:
            page = json.loads(text)
        except ValueError:
            raise ArmError("other", f"{what}: the answer is not JSON: {str(text)[:200]!r}") from None
        if not isinstance(page, dict) or not isinstance(page.get("value", []), list):
            raise ArmError("other", f"{what}: the answer is not a list page (no 'value' list)")
        page.setdefault("value", [])
        pages.append(page)
        link = page.get("nextLink") or ""
        if link and link in seen:
            raise ArmError(
                "paging", f"{what}: the service returned the same nextLink twice ({safe_url(link)}); stopped"
            )
        seen.add(link)
        next_url, next_params = link, None
    return pages


def _retry_after(headers, attempt):
    value = None
    for key, val in (headers or {}).items():
        if str(key).lower() in ("retry-after", "retry-after-ms", "x-ms-retry-after-ms"):
            try:
                value = float(val) / (1000.0 if str(key).lower().endswith("-ms") else 1.0)
            except (TypeError, ValueError):
                value = None
            break
    if value is None or value < 0:
        value = 2.0**attempt
    return min(value, MAX_RETRY_AFTER)


ANY_STATUS = list(range(100, 600))


def rest_sender(client, what, send_request_exception):
    """``send(url, params)`` for :func:`list_pages` over azure.azcollection's GenericRestClient.

    Every status is "expected" so that the response (and its Retry-After) comes back: ``query()``
    raises ``SendRequestException(text, status)`` without headers otherwise (azure_rm_common_rest.py
    ``on_error``). An exception before any answer is worded by kind, never with the credential.
    """

    def send(url, params):
        try:
            response = client.query(url, "GET", params or {}, {}, None, ANY_STATUS, 0, 0)
        except send_request_exception as exc:
            return exc.status_code, {}, exc.response
        except Exception as exc:  # token, DNS, TLS, connection
            raise exception_failure(exc, what) from None
        return response.status_code, dict(response.headers), response.text()

    return send
