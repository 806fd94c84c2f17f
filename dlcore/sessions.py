"""A browser session's secret, issued by the server: a random value signed with a key kept in the runs folder, so
that a value someone made up or copied from a link is refused and starts a fresh session instead.

The app keeps the signed value in a cookie (never in a link); runs record the hash of the unsigned secret
(:func:`dlcore.runs.owner_key`). With a sign-in configured, the owner is derived from the signed-in user instead, so
the same person finds their runs from any browser.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from dlcore.runs import SECRET, runs_root

KEY_FILE = ".session-key"
KEY_BYTES = 32
MAX_COOKIE_CHARS = 200  # longer values are refused before they are looked at


def _key(root: Path | None = None) -> bytes:
    """The signing key of this runs folder, made once (written atomically, readable by its owner only)."""
    root = Path(root or runs_root())
    path = root / KEY_FILE
    if not path.is_file():
        root.mkdir(parents=True, exist_ok=True)
        fresh = path.with_name(f"{KEY_FILE}.{secrets.token_hex(8)}")
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
        try:
            os.link(fresh, path)  # the first writer wins; a concurrent one reads the winner's key
        except FileExistsError:
            pass
        finally:
            fresh.unlink()
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise OSError(f"{path} is not a session key ({len(key)} bytes); delete it to make a new one")
    return key


def _signature(secret: str, root: Path | None) -> str:
    return hmac.new(_key(root), secret.encode(), hashlib.sha256).hexdigest()


def issue(root: Path | None = None) -> tuple[str, str]:
    """A new session: its secret (what runs are owned by) and the signed value for the browser's cookie."""
    secret = secrets.token_hex(16)
    return secret, f"{secret}.{_signature(secret, root)}"


def verified(value: str | None, root: Path | None = None) -> str | None:
    """The secret of a signed value this server issued; None for anything else (missing, malformed, forged)."""
    if not value or len(value) > MAX_COOKIE_CHARS or value.count(".") != 1:
        return None
    secret, signature = value.split(".")
    if not SECRET.match(secret) or not hmac.compare_digest(signature, _signature(secret, root)):
        return None
    return secret


def user_secret(subject: str, root: Path | None = None) -> str:
    """The owner secret of a signed-in user (their identity provider's stable subject): the same on every browser,
    and not guessable from the subject without the server's key."""
    return _signature(f"user:{subject}", root)[:32]
