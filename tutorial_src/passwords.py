"""Password hashing with argon2id (argon2-cffi), the OWASP Password Storage Cheat Sheet's first choice."""

from __future__ import annotations

from argon2 import PasswordHasher

from .settings import Settings


def password_hasher(settings: Settings) -> PasswordHasher:
    """An argon2id ``PasswordHasher`` with the settings' cost parameters (memory in KiB).

    Source: argon2-cffi's ``PasswordHasher`` (https://argon2-cffi.readthedocs.io/en/stable/api.html).
    """
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
    )


# NIST SP 800-63B-4 (2025), §3.1.1.2 "Password Verifiers": a password used as the only factor SHALL have at
# least 15 characters, each Unicode code point counting as one; verifiers SHOULD accept at least 64, SHALL NOT
# impose composition rules (no "one digit, one capital"), and SHALL refuse passwords on a blocklist of commonly
# used, expected or compromised ones, including words from the context (the service's name, the user's name).
#: The shortest password accepted (§3.1.1.2, single-factor).
MIN_PASSWORD_LENGTH = 15
#: The longest accepted: §3.1.1.2 asks for at least 64; a bound keeps argon2's input (and the body) small.
MAX_PASSWORD_LENGTH = 256
#: A few long passwords every cracking list tries first; a real service checks a breach corpus (§3.1.1.2).
COMMON_PASSWORDS = frozenset(
    {
        "correct horse battery staple",  # xkcd 936: in every wordlist since 2011 (and the demo's own)
        "passwordpassword",
        "password1234567",
        "123456789012345",
        "1234567890123456",
        "qwertyuiopasdfgh",
        "qwertyuiopasdfghjkl",
        "iloveyouiloveyou",
        "letmeinletmein1",
        "abcdefghijklmnop",
        "trustno1trustno1",
    }
)
#: Words of this service a password must not be built on (the context words of §3.1.1.2).
SERVICE_WORDS = ("jwt-tutorial", "jwttutorial")
#: The section every refusal cites.
NIST_RULE = "NIST SP 800-63B-4 §3.1.1.2"


def password_problem(password: str, email: str = "") -> str | None:
    """Which rule of NIST SP 800-63B-4 §3.1.1.2 ``password`` breaks, as a sentence; ``None`` when it passes.

    Nothing about character classes: §3.1.1.2 forbids composition rules. ``email``'s local part counts as a
    context word.
    """
    length = len(password)  # code points, as §3.1.1.2 counts
    if length < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters, this one has {length} ({NIST_RULE})"
    if length > MAX_PASSWORD_LENGTH:
        return f"a password may have at most {MAX_PASSWORD_LENGTH} characters, this one has {length}"
    folded = password.casefold()
    if folded in COMMON_PASSWORDS:
        return f"this password is on the list of commonly used passwords ({NIST_RULE}: blocklist)"
    if any(all(len(set(folded[i::n])) == 1 for i in range(n)) for n in (1, 2, 3, 4)):
        # Every n-th character the same: "aaaa…", "abab…", "abcabc…", "1234" repeated.
        return f"a password made of one short pattern repeated is easy to guess ({NIST_RULE}: blocklist)"
    local_part = email.partition("@")[0].casefold()
    context = [word for word in (*SERVICE_WORDS, local_part) if len(word) >= 4]
    if any(word in folded for word in context):
        return f"a password must not contain your email name or this service's name ({NIST_RULE}: context words)"
    return None
