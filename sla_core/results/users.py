"""Teachers' logins for a shared app: the auth file, one `user:hash` line per teacher.

The hash is `scrypt$<n>$<r>$<p>$<salt hex>$<key hex>` (hashlib.scrypt, a standard memory-hard key
derivation function; a fresh 16-byte salt per user), so a copied file does not give the passwords away.
The first user listed owns what was saved before login was turned on (`ResultStore.claim_unowned`).
A user name is also a folder name (the teacher's profiles), hence the narrow alphabet.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from pathlib import Path

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # 16 MiB and ~50 ms per check: OWASP's minimum for scrypt
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 8  # characters


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = os.urandom(16) if salt is None else salt
    key = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${key.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether `password` matches a `hash_password` string (constant-time compare; False for a bad hash)."""
    try:
        kind, n, r, p, salt, key = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(bytes.fromhex(key)), maxmem=256 * 1024**2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, bytes.fromhex(key))


def read_users(path: str | Path) -> dict[str, str]:
    """user -> hash, in file order. Raises ValueError naming the file and line for a malformed line."""
    path = Path(path)
    users: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        user, sep, stored = line.strip().partition(":")
        if not sep or not USER_NAME.match(user) or not stored.startswith("scrypt$"):
            raise ValueError(f"{path}:{n}: expected 'user:scrypt$...' (add users with `python -m sla_core users add`)")
        if user in users:
            raise ValueError(f"{path}:{n}: user {user!r} is listed twice")
        users[user] = stored
    if not users:
        raise ValueError(f"{path}: no users; add one with `python -m sla_core users add {path} NAME`")
    return users


def add_user(path: str | Path, user: str, password: str, replace: bool = False) -> None:
    """Add (or with `replace`, change the password of) a user; the file is created owner-only (0600)."""
    if not USER_NAME.match(user):
        raise ValueError(f"user name {user!r}: use letters, digits and _ . @ - (at most 64), starting with a letter or digit")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must have at least {MIN_PASSWORD} characters")
    path = Path(path)
    users = read_users(path) if path.is_file() and path.stat().st_size else {}
    if user in users and not replace:
        raise ValueError(f"user {user!r} is already in {path}; pass --replace to change the password")
    users[user] = hash_password(password)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.writelines(f"{u}:{h}\n" for u, h in users.items())
    path.chmod(0o600)


class Logins:
    """The app's login check (gradio's `auth=`): `Logins(path)(user, password) -> bool`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.users = read_users(self.path)

    @property
    def first(self) -> str:
        return next(iter(self.users))

    def __call__(self, user: str, password: str) -> bool:
        stored = self.users.get(user)
        if stored is None:
            hash_password(password, b"\0" * 16)  # the same work for an unknown name: no timing oracle
            return False
        return check_password(password, stored)


__all__ = ["Logins", "add_user", "check_password", "hash_password", "read_users"]
