"""Application errors and the one handler that renders them as JSON."""

import json
import re
import sys

from flask import jsonify, request
from werkzeug.exceptions import HTTPException

# Python refuses to read an integer longer than this (a guard against quadratic conversion).
_INT_DIGITS = sys.get_int_max_str_digits() or 4300
_LONG_DIGIT_RUN = re.compile(rb"[0-9]{%d}" % (_INT_DIGITS + 1))


class AppError(Exception):
    """An error with a machine-readable code, a message and an HTTP status."""

    status = 400
    code = "bad_request"

    def __init__(self, message, *, code=None, details=None, status=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details


class ValidationFailed(AppError):
    status = 422
    code = "validation_failed"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class TooManyAttempts(AppError):
    status = 429
    code = "too_many_attempts"

    def __init__(self, message, retry_after):
        super().__init__(message, details={"retry_after_seconds": retry_after})
        self.retry_after = retry_after


# Photos (content-addressed uploads, server/services/photos.py)


class BadPhotoHash(ValidationFailed):
    code = "bad_hash"


class EmptyBody(ValidationFailed):
    code = "empty_body"


class IncompleteBody(AppError):
    """The body ended before its Content-Length: the client hung up or a proxy cut it."""

    code = "incomplete_body"


class PhotoTooLarge(AppError):
    status = 413
    code = "photo_too_large"


class PhotoHashMismatch(ValidationFailed):
    code = "hash_mismatch"


class NotAnImage(ValidationFailed):
    code = "not_an_image"


class TruncatedImage(ValidationFailed):
    code = "truncated_image"


class CorruptImage(ValidationFailed):
    code = "corrupt_image"


class DecompressionBomb(ValidationFailed):
    code = "decompression_bomb"


class UnsupportedImageFormat(ValidationFailed):
    code = "unsupported_format"


class BadUploadOffset(ValidationFailed):
    code = "bad_offset"


class UploadOffsetMismatch(Conflict):
    code = "offset_mismatch"


class NoUpload(NotFound):
    """No upload of this photo by this user is in progress (and they do not hold it)."""

    code = "no_upload"


class PhotoFileMissing(NotFound):
    code = "photo_file_missing"


class PhotoUnrenderable(ValidationFailed):
    code = "photo_unrenderable"


def _render(status, code, message, details=None):
    response = jsonify({"error": {"code": code, "message": message, "details": details}})
    response.status_code = status
    return response


def refuse_unreadable_integers():
    """Answer 400 bad_json for a JSON body holding an integer too long for Python to read.

    The JSON parsers (webargs', Flask's) would raise a bare ValueError from deep inside
    json.loads. Only a body with such a run of digits is parsed here, once more, to tell an
    integer from digits inside a string.
    """
    if not request.is_json or request.content_length == 0:
        return
    body = request.get_data(cache=True)
    if not _LONG_DIGIT_RUN.search(body):
        return
    try:
        json.loads(body, parse_int=_bounded_int)
    except _IntegerTooLong as error:
        raise AppError("The JSON body holds an integer too long to read.", code="bad_json",
                       details={"max_digits": _INT_DIGITS}) from error
    except ValueError:
        return  # not JSON at all: the parser answers that


class _IntegerTooLong(Exception):
    pass


def _bounded_int(text):
    if len(text.lstrip("-")) > _INT_DIGITS:
        raise _IntegerTooLong
    return int(text)


def register_error_handlers(app):
    """Render AppError and HTTP errors as {"error": {code, message, details}}."""

    app.before_request(refuse_unreadable_integers)

    @app.errorhandler(AppError)
    def handle_app_error(error):
        response = _render(error.status, error.code, error.message, error.details)
        if isinstance(error, TooManyAttempts):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(RecursionError)
    def handle_too_deep(error):
        # A JSON body nested thousands deep blows the parser's stack.
        return _render(400, "bad_request", "The request body is nested too deeply.")

    @app.errorhandler(Exception)
    def handle_unexpected(error):
        if isinstance(error, HTTPException):
            return handle_http_error(error)
        app.logger.exception("Unhandled error")
        return _render(500, "internal_error", "An unexpected error occurred; it has been logged.")

    def _string_keys(messages):
        """Marshmallow keys list errors by index (int) beside "_schema" (str): JSON with sorted
        keys cannot order both, so every key becomes a string."""
        if isinstance(messages, dict):
            return {str(key): _string_keys(value) for key, value in messages.items()}
        if isinstance(messages, list):
            return [_string_keys(value) for value in messages]
        return messages

    @app.errorhandler(HTTPException)
    def handle_http_error(error):
        details = None
        # flask-smorest puts marshmallow messages here on 422.
        data = getattr(error, "data", None)
        if data and "messages" in data:
            details = _string_keys(data["messages"])
        code = {
            413: "request_too_large",
            422: "validation_failed",
            400: "bad_request",
            404: "not_found",
            405: "method_not_allowed",
        }.get(error.code, (error.name or "error").lower().replace(" ", "_"))
        message = error.description or error.name
        if details and error.code in (400, 422):
            message = "Invalid request: " + "; ".join(
                f"{location} {problems}" for location, problems in details.items())
        if error.code == 413:
            message = "The request body is larger than the server accepts."
        return _render(error.code, code, message, details)
