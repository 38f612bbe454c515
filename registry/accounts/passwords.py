"""Password hashing (Argon2id) and the complexity policy."""
from __future__ import annotations

import re
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_LENGTH = 10


def hash_password(password: str) -> str:
    """Return an Argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Tell whether `password` matches `password_hash`."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problems(password: str, username: str = "", min_length: int = MIN_LENGTH) -> list[str]:
    """Return the Chinese reasons `password` breaks the complexity policy (empty if none)."""
    problems = []
    if len(password) < min_length:
        problems.append(f"密码长度至少 {min_length} 位")
    if len(password) > 256:
        problems.append("密码长度不得超过 256 位")
    classes = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
    if classes < 3:
        problems.append("密码须包含大写字母、小写字母、数字、符号中的至少三类")
    if username and username.lower() in password.lower():
        problems.append("密码不得包含用户名")
    return problems


def generate_password(length: int = 16) -> str:
    """Return a random password that satisfies the policy."""
    alphabet = string.ascii_letters + string.digits + "!@#%^*-_"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(max(length, 16)))
        if not password_problems(candidate):
            return candidate
