"""One POST to a webhook target, connected to an address the guard vetted.

The connection goes to the vetted IP address itself, so nothing resolves the name
a second time; the name still goes in the Host header, in TLS's server name
indication and in the certificate's check. Redirects are never followed, and
nothing is retried here: the delivery's schedule decides.
"""

from dataclasses import dataclass

import certifi
import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

from consents.webhooks.addresses import WebhookTarget


@dataclass(frozen=True)
class Reply:
    status: int
    retry_after: str | None


class PostFailed(Exception):
    """No answer: the connection failed, or no answer came in time."""


def _pool(
    target: WebhookTarget, address: str, timeout: urllib3.Timeout
) -> urllib3.HTTPConnectionPool:
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=timeout,
            retries=False,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
        )
    return urllib3.HTTPConnectionPool(
        address, target.port, timeout=timeout, retries=False
    )


def post_to(
    target: WebhookTarget,
    body: bytes,
    headers: dict[str, str],
    *,
    connect_timeout: float,
    read_timeout: float,
) -> Reply:
    """POST `body` once, trying the vetted addresses in order until one connects."""
    timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
    failure = PostFailed("no address to connect to")
    for address in target.addresses:
        with _pool(target, address, timeout) as pool:
            try:
                response = pool.urlopen(
                    "POST",
                    target.path,
                    body=body,
                    headers={**headers, "host": target.netloc},
                    redirect=False,
                    retries=False,
                    assert_same_host=False,
                )
            except NewConnectionError as exc:  # refused, unreachable: next address
                failure = PostFailed(f"{type(exc).__name__}: {exc}")
                continue
            except ConnectTimeoutError:
                failure = PostFailed("timed out")
                continue
            except Urllib3TimeoutError as exc:  # connected, then no answer in time
                raise PostFailed("timed out") from exc
            except (HTTPError, OSError) as exc:
                raise PostFailed(f"{type(exc).__name__}: {exc}") from exc
            return Reply(response.status, response.headers.get("retry-after"))
    raise failure
