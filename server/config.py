"""Configuration: safe defaults, secrets and locations only from the environment."""

import os
from dataclasses import fields
from datetime import timedelta
from pathlib import Path

from server.services.evidence import EvidenceLimits

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _int_env(name, default):
    value = os.environ.get(name)
    return int(value) if value else default


def _flag_env(name):
    """Return True/False for a yes/no variable, None when unset (decided per request)."""
    value = os.environ.get(name, "").strip().lower()
    return None if not value else value in ("1", "true", "yes", "on")


class Config:
    """Settings read once when the app is created."""

    def __init__(self):
        var_dir = Path(os.environ.get("GRID_VAR_DIR", PROJECT_ROOT / "var"))
        self.GRID_VAR_DIR = str(var_dir)
        self.SQLALCHEMY_DATABASE_URI = os.environ.get(
            "DATABASE_URL", f"sqlite:///{var_dir / 'grid.sqlite3'}"
        )
        self.SECRET_KEY = os.environ.get("SECRET_KEY")
        # A non-editable install puts the package in site-packages; the unit file points here.
        self.MIGRATIONS_DIR = os.environ.get("GRID_MIGRATIONS_DIR", str(PROJECT_ROOT / "migrations"))
        # Number of trusted proxies in front (nginx: 1); 0 trusts no X-Forwarded-* header.
        self.PROXY_FIX_HOPS = _int_env("PROXY_FIX_HOPS", 0)
        self.MAX_CONTENT_LENGTH = _int_env("MAX_CONTENT_LENGTH", 50 * 1024 * 1024)
        self.TOKEN_TTL_HOURS = _int_env("TOKEN_TTL_HOURS", 12)
        # Terminals stay offline for days: their registration lasts longer than a web sign-in.
        self.DEVICE_TOKEN_TTL_HOURS = _int_env("DEVICE_TOKEN_TTL_HOURS", 24 * 30)
        self.LOGIN_MAX_FAILURES = _int_env("LOGIN_MAX_FAILURES", 5)
        self.LOGIN_LOCK_MINUTES = _int_env("LOGIN_LOCK_MINUTES", 15)
        self.SLIVER_TOLERANCE_M2 = float(os.environ.get("SLIVER_TOLERANCE_M2", "100"))
        # The premises import answers at once up to this many bytes; larger files become a
        # background job (202 + status URL). JOBS_IN_PROCESS runs a worker thread in the app
        # (the dev server); production runs `flask jobs work` (deploy/systemd).
        self.JOBS_INLINE_MAX_BYTES = _int_env("JOBS_INLINE_MAX_BYTES", 1024 * 1024)
        # How long a worker reuses a scope's size when choosing snapshot or delta for a pull
        # (services/pull.py); 0 counts it on every page.
        self.PULL_SCOPE_SIZE_SECONDS = _int_env("PULL_SCOPE_SIZE_SECONDS", 600)
        self.JOBS_IN_PROCESS = bool(_flag_env("JOBS_IN_PROCESS"))
        self.JOBS_LEASE_SECONDS = _int_env("JOBS_LEASE_SECONDS", 300)
        self.PHOTO_DIR = os.environ.get("PHOTO_DIR", str(var_dir / "photos"))
        self.PHOTO_MAX_BYTES = _int_env("PHOTO_MAX_BYTES", 25 * 1024 * 1024)
        self.PHOTO_MAX_PIXELS = _int_env("PHOTO_MAX_PIXELS", 64_000_000)
        # "filesystem" (under PHOTO_DIR) or "package.module:factory" (server/photos/store.py).
        self.PHOTO_STORE = os.environ.get("PHOTO_STORE", "filesystem")
        # `flask sync prune` deletes resumable uploads left unfinished this long.
        self.PHOTO_PARTIAL_MAX_AGE_HOURS = _int_env("PHOTO_PARTIAL_MAX_AGE_HOURS", 48)
        # On-site evidence limits (defaults in EvidenceLimits): beyond them a record is
        # flagged, never refused.
        for limit in fields(EvidenceLimits):
            name = f"EVIDENCE_{limit.name.upper()}"
            setattr(self, name, float(os.environ.get(name) or limit.default))
        # Refused push records kept for diagnosis (server/services/push.py): each payload up to
        # this many bytes of JSON (beyond: an excerpt, its size and SHA-256), this many rows per
        # device, deleted by `flask sync prune` after this many days.
        self.REJECTED_RECORDS_PAYLOAD_MAX_BYTES = _int_env("REJECTED_RECORDS_PAYLOAD_MAX_BYTES", 8192)
        self.REJECTED_RECORDS_PER_DEVICE = _int_env("REJECTED_RECORDS_PER_DEVICE", 1000)
        self.REJECTED_RECORDS_RETENTION_DAYS = _int_env("REJECTED_RECORDS_RETENTION_DAYS", 90)
        # Default rectification deadlines (server/services/followups/deadlines.py): a rule file.
        self.FOLLOWUPS_ESCALATION_RULES = os.environ.get(
            "FOLLOWUPS_ESCALATION_RULES",
            str(PROJECT_ROOT / "server" / "followups" / "escalation_rules.json"))
        self.FOLLOWUPS_DEADLINE_RULES = os.environ.get(
            "FOLLOWUPS_DEADLINE_RULES", str(PROJECT_ROOT / "server" / "followups" / "deadline_rules.json"))
        # Bad-practice points (services/followups/points.py): a rule file; there is no national
        # table, each office adopts its own. The order hooks read the same environment variable.
        self.FOLLOWUPS_POINT_RULES = os.environ.get(
            "FOLLOWUPS_POINT_RULES", str(PROJECT_ROOT / "server" / "followups" / "point_rules.json"))
        # CALENDAR days from a penalty decision to its post-penalty recheck task's due day.
        self.FOLLOWUPS_POST_PENALTY_RECHECK_DAYS = _int_env("FOLLOWUPS_POST_PENALTY_RECHECK_DAYS", 30)
        if not 1 <= self.FOLLOWUPS_POST_PENALTY_RECHECK_DAYS <= 365:
            raise ValueError("FOLLOWUPS_POST_PENALTY_RECHECK_DAYS must be 1 to 365 days, not "
                             f"{self.FOLLOWUPS_POST_PENALTY_RECHECK_DAYS}")
        # WORKING days from receipt to the answer a real-name complainant is due (and to the
        # verification task's due day), on the stored working-day calendar (see
        # services/followups/complaints.py due_day).
        self.COMPLAINT_FEEDBACK_DAYS = _int_env("COMPLAINT_FEEDBACK_DAYS", 15)
        if not 1 <= self.COMPLAINT_FEEDBACK_DAYS <= 250:  # a year holds ~250 working days
            raise ValueError("COMPLAINT_FEEDBACK_DAYS must be 1 to 250 working days, not "
                             f"{self.COMPLAINT_FEEDBACK_DAYS}")
        # Documents (文书, services/followups/documents.py): numbered per office code, year and
        # prefix as {prefix}〔{year}〕第{serial:04d}号; a TrueType CJK font is embedded in the PDFs.
        self.DOCUMENT_OFFICE_CODE = os.environ.get("DOCUMENT_OFFICE_CODE", "office")
        self.DOCUMENT_OFFICE_NAME = os.environ.get("DOCUMENT_OFFICE_NAME", "卫生健康综合监督执法机构")
        self.DOCUMENT_OFFICE_PREFIX = os.environ.get("DOCUMENT_OFFICE_PREFIX", "卫监意")
        # Cases (案件, services/followups/cases.py): numbered like documents, per office code
        # (DOCUMENT_OFFICE_CODE), year and this prefix, e.g. 乌卫立〔2026〕第0001号.
        self.CASE_NUMBER_PREFIX = os.environ.get("CASE_NUMBER_PREFIX", "乌卫立")
        self.DOCUMENT_PENALTY_PREFIX = os.environ.get("DOCUMENT_PENALTY_PREFIX", "卫罚决")
        # The number prefix of recheck results (整改复查意见书), e.g. 乌卫监复.
        self.DOCUMENT_RECHECK_PREFIX = os.environ.get("DOCUMENT_RECHECK_PREFIX", "卫监复")
        self.DOCUMENT_FONT = os.environ.get("DOCUMENT_FONT", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
        # The QR code's verification URL starts with this (empty: the request's own host).
        self.DOCUMENT_VERIFY_BASE_URL = os.environ.get("DOCUMENT_VERIFY_BASE_URL", "")
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        # Page sign-ins end after this many hours, whatever the browser does (server/web/sessions.py).
        self.WEB_SESSION_HOURS = _int_env("WEB_SESSION_HOURS", 10)
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=self.WEB_SESSION_HOURS)
        # None: Secure whenever the request came over HTTPS (behind nginx: PROXY_FIX_HOPS).
        self.SESSION_COOKIE_SECURE = _flag_env("SESSION_COOKIE_SECURE")
        # CSRF tokens live as long as the page session, not an hour: a map left open can sign out.
        self.WTF_CSRF_TIME_LIMIT = None
        self.WTF_CSRF_CHECK_DEFAULT = False  # only the cookie-session pages; the API uses bearer tokens
        self.API_TITLE = "Grid inspection API (卫生监督网格化监管)"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.OPENAPI_SWAGGER_UI_PATH = "docs"
        # Served from the swagger-ui-bundle package: offices run on closed networks.
        self.OPENAPI_SWAGGER_UI_URL = "/api/docs/assets/"
        self.API_SPEC_OPTIONS = {
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer"}
                }
            },
            "security": [{"bearerAuth": []}],
        }


class TestConfig(Config):
    """Settings for the test suite: fast hashing (ARGON2_FAST), a fixed secret."""

    TESTING = True

    def __init__(self, database_url):
        super().__init__()
        self.TESTING = True
        self.SQLALCHEMY_DATABASE_URI = database_url
        self.SECRET_KEY = "test-secret"
        self.ARGON2_FAST = True
        # Rolled-back tests reuse user ids and scopes: a size kept from one would leak into the
        # next. Tests that need it set it.
        self.PULL_SCOPE_SIZE_SECONDS = 0
