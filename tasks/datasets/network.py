"""Whether the hosts a download needs can be reached, answered within seconds.

Without a network, TFDS's downloader retries every file for minutes and leaves partial files behind.
Before a download starts, :func:`require_hosts` opens one TCP connection to each host (or to the proxy
that ``HTTPS_PROXY``/``HTTP_PROXY`` names for it), all at once, and gives up after
:data:`CONNECT_TIMEOUT` seconds; name resolution, which has no timeout of its own, is bounded by the
same deadline.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterable
from urllib.parse import urlsplit

CONNECT_TIMEOUT = 3.0
DEFAULT_PORTS = {"https": 443, "http": 80, "ftp": 21}


def endpoints(urls: Iterable[str]) -> list[tuple[str, int]]:
    """The distinct ``(host, port)`` a download of ``urls`` connects to: each URL's host, or its proxy's."""
    proxies = urllib.request.getproxies()
    out = []
    for url in urls:
        parts = urlsplit(url)
        if not parts.hostname:
            continue
        proxy = proxies.get(parts.scheme)
        if proxy and not urllib.request.proxy_bypass(parts.hostname):
            p = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
            if p.hostname:
                out.append((p.hostname, p.port or DEFAULT_PORTS.get(p.scheme, 80)))
                continue
        out.append((parts.hostname, parts.port or DEFAULT_PORTS.get(parts.scheme, 443)))
    return list(dict.fromkeys(out))


def unreachable(hosts: Iterable[tuple[str, int]], timeout: float = CONNECT_TIMEOUT) -> dict[tuple[str, int], str]:
    """The hosts no TCP connection could be opened to within ``timeout`` seconds in all, with the reason."""
    hosts = list(hosts)
    reasons: dict[tuple[str, int], str] = {}

    def attempt(host: tuple[str, int]) -> None:
        try:
            socket.create_connection(host, timeout=timeout).close()
        except OSError as exc:
            reasons[host] = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__

    threads = [threading.Thread(target=attempt, args=(h,), daemon=True) for h in hosts]
    deadline = time.monotonic() + timeout
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    for host, t in zip(hosts, threads):
        if t.is_alive():  # still resolving the name or connecting: as good as unreachable
            reasons.setdefault(host, f"no answer within {timeout:g} s")
    return reasons


def require_hosts(urls: Iterable[str], what: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise :class:`ConnectionError` with one line naming the first host that cannot be reached, if any."""
    failed = unreachable(endpoints(urls), timeout)
    if failed:
        (host, port), reason = next(iter(failed.items()))
        more = f" (and {len(failed) - 1} more host{'s' if len(failed) > 2 else ''})" if len(failed) > 1 else ""
        raise ConnectionError(f"{what}: no network: cannot reach {host}:{port}{more}: {reason}")
