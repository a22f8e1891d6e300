"""The Flask application factory."""

from pathlib import Path

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from server.config import Config


def create_app(config=None):
    """Create and configure the app; `config` is a Config-like object (tests pass TestConfig)."""
    app = Flask(__name__, static_folder=None)
    app.config.from_object(config or Config())
    from server.security import init_security

    init_security(app)  # headers, CSRF for the pages, session cookie, bounded request bodies
    app.json = JSONProvider(app)
    if not app.config.get("SECRET_KEY"):
        if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            raise RuntimeError("SECRET_KEY must be set when running on PostgreSQL")
        app.config["SECRET_KEY"] = _embedded_secret(Path(app.config["GRID_VAR_DIR"]))

    from flask_smorest import Api

    from server import db as database
    from server.extensions import db, migrate
    from server.services.passwords import use_fast_hashing

    use_fast_hashing(bool(app.config.get("ARGON2_FAST")))

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        Path(app.config["GRID_VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    database.init_app(app)
    migrate.init_app(app, db, directory=app.config["MIGRATIONS_DIR"])
    if app.config["PROXY_FIX_HOPS"]:
        # Behind nginx: take the client address and scheme from its X-Forwarded-* headers.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    from server.photos import PhotoLimits, make_photo_store

    # Built once: every request uses the same store (filesystem, or S3-compatible by config).
    app.extensions["photo_store"] = make_photo_store(app.config)
    app.extensions["photo_limits"] = PhotoLimits.from_config(app.config)
    api = Api(app)

    from server.api import register_api
    from server.cli import register_cli
    from server.errors import register_error_handlers
    from server.web import web_bp

    register_api(api, app)
    register_error_handlers(app)
    register_cli(app)
    app.register_blueprint(web_bp)
    if app.config.get("JOBS_IN_PROCESS") and not app.testing:
        _run_jobs_in_process(app)
    return app


def _run_jobs_in_process(app):
    """Start a job worker thread with the first request (never in CLI commands)."""
    import threading

    started = threading.Lock()
    state = {}

    @app.before_request
    def start_worker():
        if state or not started.acquire(blocking=False):
            return
        from server.services.jobs import start_in_process

        state["stop"] = start_in_process(app)


class JSONProvider(DefaultJSONProvider):
    """Chinese names stay readable in responses; text UTF-8 cannot carry is escaped instead.

    A lone surrogate sent in a request (a key echoed back in a 422, say) would otherwise make
    the answer itself fail to encode: a 500.
    """

    ensure_ascii = False

    def dumps(self, obj, **kwargs):
        text = super().dumps(obj, **kwargs)
        if not text.isascii():
            try:
                text.encode()
            except UnicodeEncodeError:
                return super().dumps(obj, **{**kwargs, "ensure_ascii": True})
        return text


def _embedded_secret(var_dir):
    """Keep a generated secret beside the embedded database, so sessions survive restarts."""
    import secrets

    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
