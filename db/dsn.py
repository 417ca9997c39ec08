"""Connection strings as an operator types them: checked before use, never shown with a password.

A malformed `DATABASE_URL` used to reach libpq, whose error quotes the string (password
included), or worse, parse "successfully" into something else: in
`postgresql://user:pa@ss@host/db` the '@' inside the password makes libpq connect to host
`ss@host` and print it. `check_dsn` refuses such strings up front with one line that names the
variable and shows the string masked; `redact` masks every password it knows of (and anything
shaped like one) in any text before it is printed or logged.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from urllib.parse import unquote

import psycopg
from psycopg.conninfo import conninfo_to_dict

MASK = "***"
SCHEMES = ("postgresql", "postgres")
MIN_FRAGMENT = 3  # password pieces shorter than this are not masked alone (too many false hits)

# scheme://user:secret@ — the secret runs to the last '@' before the host (an unencoded '@'
# in a password is a mistake we must still mask).
_URL_SECRET = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s'\"]*:)(?P<secret>[^\s'\"/]*)@", re.I
)
# password=secret or password='se cret' in key=value connection strings and in messages.
_KV_SECRET = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'|[^\s'\"]+)", re.I)
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")

_known: set[str] = set()


class ConfigError(ValueError):
    """A setting the operator gave (environment, connection string) is unusable; one line."""


def remember(dsn: str | None) -> None:
    """Mask this connection string's password in everything `redact` sees from now on."""
    if dsn:
        _known.update(_secrets_of(dsn))


def redact(text: str, dsns: Iterable[str | None] = ()) -> str:
    """`text` with every known password (and anything shaped like one) replaced by ***."""
    secrets = set(_known)
    for dsn in (os.environ.get("DATABASE_URL"), *dsns):
        if dsn:
            secrets |= _secrets_of(dsn)
    if os.environ.get("PGPASSWORD"):
        secrets.add(os.environ["PGPASSWORD"])
    text = _URL_SECRET.sub(lambda m: f"{m['head']}{MASK}@", text)
    text = _KV_SECRET.sub(lambda m: f"{m['head']}{MASK}", text)
    for secret in sorted(secrets, key=len, reverse=True):
        text = _mask_word(text, secret)
    return text


def masked(dsn: str) -> str:
    """The connection string with its password replaced by ***."""
    return redact(dsn, [dsn])


def check_dsn(dsn: str, name: str = "DATABASE_URL") -> str:
    """`dsn` if libpq will read it as the operator meant; else ConfigError naming `name`."""
    remember(dsn)
    shown = masked(dsn)
    if "://" in dsn:
        scheme, rest = dsn.split("://", 1)
        if scheme.lower() not in SCHEMES:
            raise ConfigError(
                f"{name} {shown!r}: unknown scheme {scheme!r} (want postgresql://user@host/db)"
            )
        main = rest.split("?", 1)[0]
        if main.count("@") > 1:
            raise ConfigError(
                f"{name} {shown!r}: more than one '@'; write an '@' in the user or password as %40"
            )
        if "@" in main and "/" in main.split("@", 1)[0]:
            raise ConfigError(f"{name} {shown!r}: a '/' in the user or password; write it as %2F")
        if _PERCENT.search(rest):
            raise ConfigError(
                f"{name} {shown!r}: a '%' that starts no %XX escape; write a '%' as %25"
            )
    try:
        conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as e:
        reason = redact(" ".join(str(e).split()), [dsn])
        raise ConfigError(f"{name} {shown!r} is not a connection string: {reason}") from None
    return dsn


def _secrets_of(dsn: str) -> set[str]:
    """The password of a connection string, as written and decoded, and its '@'-pieces."""
    found: set[str] = set()
    if "://" in dsn:
        rest = dsn.split("://", 1)[1]
        if "@" in rest:
            userinfo = rest.rsplit("@", 1)[0]
            if ":" in userinfo:
                found.add(userinfo.split(":", 1)[1])
    for m in _KV_SECRET.finditer(dsn):
        found.add(m["secret"].strip("'"))
    try:
        password = conninfo_to_dict(dsn).get("password")
    except psycopg.ProgrammingError:
        password = None
    if password:
        found.add(str(password))
    out: set[str] = set()
    for secret in found:
        for form in (secret, _unquote(secret)):
            out.add(form)
            out.update(p for p in re.split(r"[@:/?]", form) if len(p) >= MIN_FRAGMENT)
    return {s for s in out if s}


def _unquote(s: str) -> str:
    try:
        return unquote(s, errors="strict")
    except UnicodeDecodeError:
        return s


def _mask_word(text: str, secret: str) -> str:
    if len(secret) < MIN_FRAGMENT:
        return text  # whole short passwords are masked by the URL/key=value patterns above
    # a piece of a password is masked where it stands alone, not inside a longer word
    left = r"(?<![0-9A-Za-z])" if secret[0].isalnum() else ""
    right = r"(?![0-9A-Za-z])" if secret[-1].isalnum() else ""
    return re.sub(f"{left}{re.escape(secret)}{right}", MASK, text)
