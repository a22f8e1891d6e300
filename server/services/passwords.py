"""Password hashing with argon2."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_default = PasswordHasher()
# Tests create many users; the cheap profile keeps the suite fast.
_fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_hasher = _default
# A real hash to verify against when the user does not exist, so timing reveals nothing.
_dummy_hash = None


def use_fast_hashing(enabled):
    """Switch to a cheap argon2 profile; create_app does it when ARGON2_FAST is set (tests)."""
    global _hasher, _dummy_hash
    _hasher = _fast if enabled else _default
    _dummy_hash = None


def hash_password(password):
    """Return an argon2 hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash, password):
    """Return True when the password matches; a missing hash still costs one verification."""
    global _dummy_hash
    if password_hash is None:
        if _dummy_hash is None:
            _dummy_hash = _hasher.hash("not-a-password")
        password_hash = _dummy_hash
        try:
            _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
