"""The terminal's HTTP connection to its server: one kept-alive connection, reopened at need.

A terminal sends many small requests (a photo chunk, a batch) to one server; reusing the
connection spares a TCP (and TLS) handshake for each. Proxies from the environment
(`http_proxy`, `https_proxy`, `no_proxy`) are honoured as urllib would.
"""

import http.client
import time
import urllib.parse
import urllib.request

# A connection idle longer than this is not reused: gunicorn closes idle ones after 2 s
# (its default keep-alive), nginx after 75 s.
IDLE_REUSE_SECONDS = 1.5

# Errors that mean the connection was stale or cut: nothing is known of the request's fate.
CONNECTION_ERRORS = (http.client.HTTPException, ConnectionError, TimeoutError, OSError)


class Connection:
    """Send requests to one server over a connection kept open between them."""

    def __init__(self, base_url, *, timeout):
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) server address: {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.proxy = _proxy_for(parts.scheme, parts.hostname)
        self._connection = None
        self._last_used = 0.0
        self.opened = 0  # connections opened and requests sent so far (tests read them)
        self.requests = 0

    def close(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def request(self, method, path, *, data=None, headers=None):
        """Send one request; return (status, reason, body bytes) read whole.

        Any failure closes the connection and is raised: the caller retries (every request
        of the protocol can be replayed).
        """
        if self._connection is not None and time.monotonic() - self._last_used > IDLE_REUSE_SECONDS:
            self.close()  # the server has likely closed it by now: do not find out the hard way
        try:
            return self._exchange(method, path, data, headers or {})
        except BaseException:
            self.close()
            raise
        finally:
            self._last_used = time.monotonic()

    def _exchange(self, method, path, data, headers):
        connection = self._connection or self._open()
        self._connection = connection
        self.requests += 1
        target = self.prefix + path
        if self.proxy and self.scheme == "http":
            target = f"http://{self.host}:{self.port}{target}"  # a plain proxy wants the URL
        connection.request(method, target, body=data, headers=headers)
        response = connection.getresponse()
        body = response.read()  # IncompleteRead when the body was cut short
        if response.will_close:
            self.close()
        return response.status, response.reason, body

    def _open(self):
        self.opened += 1
        if self.proxy:
            proxy = urllib.parse.urlsplit(self.proxy)
            proxy_port = proxy.port or 80
            if self.scheme == "https":
                connection = http.client.HTTPSConnection(proxy.hostname, proxy_port,
                                                         timeout=self.timeout)
                connection.set_tunnel(self.host, self.port)
                return connection
            return http.client.HTTPConnection(proxy.hostname, proxy_port, timeout=self.timeout)
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)


def _proxy_for(scheme, host):
    """Return the proxy URL the environment sets for this scheme and host, or None."""
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"
