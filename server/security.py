"""HTTP hardening the app does itself, not only nginx: security headers, CSRF for the pages,
the session cookie's Secure flag, and request bodies held to MAX_CONTENT_LENGTH."""

import flask
from flask import has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_content_length, get_input_stream

csrf = CSRFProtect()

# Every script and style comes from the app's own files; nothing inline, nothing framed.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: Flask-WTF checks the Referer of page forms over HTTPS.
    "Referrer-Policy": "same-origin",
}


def init_security(app):
    """Wire the headers, the request and session classes and CSRF protection into the app."""
    app.request_class = BoundedRequest
    app.session_interface = SessionInterface()
    csrf.init_app(app)  # checks nothing by itself (WTF_CSRF_CHECK_DEFAULT); the pages call it

    @app.after_request
    def add_security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, Secure when configured so or, left unset, over HTTPS."""

    def get_cookie_secure(self, app):
        secure = app.config["SESSION_COOKIE_SECURE"]
        if secure is None:
            return has_request_context() and request.is_secure
        return bool(secure)


class BoundedRequest(flask.Request):
    """A request whose streamed (chunked) body is refused, not cut, past MAX_CONTENT_LENGTH.

    Werkzeug stops reading such a body at the limit and hands over what it read as if it
    were all; this reads one byte further and answers 413 when it is there.
    """

    @cached_property
    def stream(self):
        if self.shallow:
            raise RuntimeError("This request was created with 'shallow=True'.")
        environ = self.environ
        limit = self.max_content_length
        if (limit is not None and get_content_length(environ) is None
                and "wsgi.input_terminated" in environ):
            return _RefusingStream(environ["wsgi.input"], limit)
        return get_input_stream(environ, max_content_length=limit)


class _RefusingStream(LimitedStream):
    """Reads at most limit + 1 bytes, and raises 413 on reading the extra one."""

    def __init__(self, stream, limit):
        super().__init__(stream, limit + 1, is_max=True)
        self.allowed = limit

    def readinto(self, buffer):
        count = super().readinto(buffer)
        if self.tell() > self.allowed:
            raise RequestEntityTooLarge()
        return count
