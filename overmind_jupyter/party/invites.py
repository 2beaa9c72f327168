"""Party secrets: invite strings, member credentials, their hashes and expiry.

Invite string (one line, what ``host`` prints and ``join`` takes)::

    overmind+<server URL incl. base URL, ending in "/">#<code>.<secret>
    overmind+http://127.0.0.1:8888/base/#amber-otter-42.dGhpcyBpcyAyNCByYW5kb20gYnl0ZXM

- ``code``: a human alias (``adjective-animal-NN``, ≈ 17 bits), shown in the host's
  lists and events; alone it never admits anyone.
- ``secret``: ``secrets.token_urlsafe(24)`` (192 bits); only its SHA-256 is stored.
  A plain hash suffices because the secret is high-entropy (no dictionary to try).
- The part after ``#`` travels as the ``X-Overmind-Invite: <code>.<secret>`` header of
  ``POST <url>overmind/party/join``, never in a URL.

A member credential (issued at join, revoked by a kick) has the same shape,
``<member id>.<secret>``, and travels in the ``X-Overmind-Credential`` header or the
first websocket frame. Hashes are compared with ``hmac.compare_digest``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import secrets
from urllib.parse import urlsplit

from ..errors import Unauthorized, UsageError
from ..store.records import EventSpec, Record, Records

SCHEME = "overmind+"
SECRET_BYTES = 24  # 192 bits; security.md asks for ≥ 128
DEFAULT_TTL_S = 86_400.0  # s (24 h)
MAX_TTL_S = 7 * 86_400.0  # s
INVITE_HEADER = "X-Overmind-Invite"
CREDENTIAL_HEADER = "X-Overmind-Credential"
CODE_RE = re.compile(r"[a-z]+-[a-z]+-[0-9]{2}")
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{22,128}")
ID_RE = re.compile(r"[a-z]+-[0-9a-f]{4,32}")

BAD_INVITE = ("invite not accepted: unknown, revoked or wrong secret; ask the host for a "
              "new invite")

ADJECTIVES = ("amber", "brisk", "calm", "coral", "dusky", "eager", "fern", "gentle", "golden",
              "hazel", "ivory", "jolly", "keen", "lunar", "mellow", "misty", "noble", "olive",
              "plucky", "quiet", "rapid", "rosy", "sandy", "silver", "sunny", "tidy", "umber",
              "velvet", "witty", "young", "zesty", "bold")
ANIMALS = ("otter", "badger", "crane", "dingo", "egret", "ferret", "gecko", "heron", "ibis",
           "jackal", "koala", "lemur", "marten", "newt", "ocelot", "panda", "quail", "raven",
           "stoat", "tapir", "urchin", "vole", "walrus", "yak", "zebra", "bison", "camel",
           "finch", "lynx", "moose", "puffin", "wombat")


@dataclasses.dataclass(frozen=True, slots=True)
class Invite:
    """A parsed invite string: ``url`` (ends in ``/``), ``code`` and ``secret``."""

    url: str
    code: str
    secret: str

    def __str__(self) -> str:
        return f"{SCHEME}{self.url}#{self.code}.{self.secret}"

    @property
    def header(self) -> str:
        """Value of the ``X-Overmind-Invite`` header: ``<code>.<secret>``."""
        return f"{self.code}.{self.secret}"

    def __repr__(self) -> str:  # keep the secret out of logs and tracebacks
        return f"Invite(url={self.url!r}, code={self.code!r}, secret=…)"


def new_secret() -> str:
    """A fresh URL-safe secret of ``SECRET_BYTES`` random bytes (32 characters)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def new_id(prefix: str) -> str:
    """A record id like ``mbr-3fa2c1d0e5`` (prefix + 40 random bits as hex)."""
    return f"{prefix}-{secrets.token_hex(5)}"


def new_code() -> str:
    """A human-friendly alias like ``amber-otter-42`` (not a secret)."""
    return (f"{secrets.choice(ADJECTIVES)}-{secrets.choice(ANIMALS)}-"
            f"{secrets.randbelow(90) + 10}")


def digest(secret: str) -> str:
    """SHA-256 of ``secret`` as 64 hex characters (what the store keeps)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_digest: str) -> bool:
    """True when ``secret`` hashes to ``stored_digest`` (constant-time comparison)."""
    return hmac.compare_digest(digest(secret).encode(), stored_digest.encode())


def parse_invite(text: str) -> Invite:
    """Parse an invite string (format in the module docstring).

    Raises:
        UsageError: anything else; the message never repeats the secret.
    """
    text = text.strip()
    if not text.startswith(SCHEME) or "#" not in text:
        raise UsageError("not an Overmind invite: expected overmind+<server URL>#<code>."
                         "<secret>, as printed by `overmind host`")
    url, _, token = text[len(SCHEME):].partition("#")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.username or parts.password or not url.endswith("/"):
        raise UsageError(f"the invite's server URL {url!r} is not an http(s) URL ending in /"
                         "; copy the whole invite the host printed")
    code, secret = split_token(token, "invite", CODE_RE)
    return Invite(url, code, secret)


def split_token(value: str, what: str, left: re.Pattern[str] = ID_RE) -> tuple[str, str]:
    """Split ``<left>.<secret>`` (an invite header or a member credential).

    Raises:
        UsageError: malformed; the message never repeats the value.
    """
    name, dot, secret = value.strip().partition(".")
    if not dot or not left.fullmatch(name) or not SECRET_RE.fullmatch(secret):
        raise UsageError(f"malformed {what}: expected <{'code' if what == 'invite' else 'id'}>"
                         ".<secret>; copy it again from the host")
    return name, secret


def check_ttl(ttl_s: float) -> float:
    """``ttl_s`` if it is within (0, ``MAX_TTL_S``] seconds.

    Raises:
        UsageError: out of range.
    """
    if not 0 < ttl_s <= MAX_TTL_S:
        raise UsageError(f"an invite lives between 1 s and {MAX_TTL_S:g} s (7 days), "
                         f"not {ttl_s:g} s")
    return float(ttl_s)


# -- invite records (kind "invite", parent = the party id) -----------------------------
def create(records: Records, party: Record, ttl_s: float, role: str,
           now: float) -> tuple[Record, str]:
    """Insert an active invite of ``party`` living ``ttl_s`` s from ``now`` (epoch s).

    Returns ``(record, secret)``: the secret exists only here, the record has its hash.

    Raises:
        UsageError: ``ttl_s`` out of range.
    """
    ttl_s = check_ttl(ttl_s)
    taken = {i.data.name for i in records.list("invite", states=("active",))}
    code = new_code()
    while code in taken:
        code = new_code()
    secret = new_secret()
    data = {"name": code, "role": role, "expires_at": now + ttl_s,
            "secret_sha256": digest(secret)}
    iid = new_id("inv")
    rec = records.insert("invite", iid, "active", data, parent=party.id,
                         event=_event("invite-created", iid, data, party.id))
    return rec, secret


def end(records: Records, invite: Record, state: str) -> Record:
    """Move an active invite to ``revoked`` or ``expired`` (event ``invite-revoked``).

    Raises:
        InvalidTransition: it is not active.
    """
    return records.transition("invite", invite.id, state, event=_event(
        "invite-revoked", invite.id, {**invite.data.dump(), "state": state}, invite.parent))


def accept(records: Records, party: Record, header: str, now: float) -> Record:
    """The active, unexpired invite of ``party`` matching ``header`` (``<code>.<secret>``).

    An expired match is marked ``expired`` on the way.

    Raises:
        Unauthorized: malformed, unknown code, wrong secret, revoked or expired.
    """
    try:
        code, secret = split_token(header, "invite", CODE_RE)
    except UsageError:
        raise Unauthorized(BAD_INVITE) from None
    for invite in records.list("invite", parent=party.id, states=("active",)):
        if invite.data.name == code and secret_matches(secret,
                                                          invite.data.secret_sha256):
            if invite.data.expires_at > now:
                return invite
            end(records, invite, "expired")
            raise Unauthorized("this invite has expired; ask the host for a new one")
    raise Unauthorized(BAD_INVITE)


def _event(type_: str, iid: str, data: dict, party: str | None) -> EventSpec:
    """Invite events carry ``{id, code, role, expires_at, state?}``, never the hash."""
    return EventSpec(type_, {"id": iid, "code": data["name"], "role": data["role"],
                             "expires_at": data["expires_at"],
                             **({"state": data["state"]} if "state" in data else {})},
                     party=party)
