"""Users, workspaces, memberships and API keys.

A key reads `sk_<key id>_<secret>`. Only a SHA-256 hash of the secret is
stored (the secret is 256 random bits, so a slow hash adds nothing), and it
is compared in constant time. An unknown key id costs the same comparison as
a known one, so the time a check takes does not tell which ids exist.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from application.ports import KeyLookup, Principal
from domain.events import now
from domain.identifiers import KEY_PREFIX, USER_PREFIX, WORKSPACE_PREFIX, new_id
from projections.listing import to_millis
from projections.sql import Database, Presumption, SoonRows, SqlSession

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS users (
  id text PRIMARY KEY,
  email text NOT NULL UNIQUE,
  created_at bigint NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS workspaces (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  created_at bigint NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS memberships (
  user_id text NOT NULL REFERENCES users (id),
  workspace_id text NOT NULL REFERENCES workspaces (id),
  created_at bigint NOT NULL,
  PRIMARY KEY (user_id, workspace_id)
)""",
    """CREATE TABLE IF NOT EXISTS api_keys (
  id text PRIMARY KEY,
  secret_hash text NOT NULL,
  user_id text NOT NULL REFERENCES users (id),
  workspace_id text NOT NULL REFERENCES workspaces (id),
  created_at bigint NOT NULL,
  revoked_at bigint
)""",
]

_KEY_PATTERN = re.compile(r"^sk_([0-9a-z]{26})_([A-Za-z0-9_-]{43})$")
_EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}$")
_UNKNOWN_KEY_HASH = hashlib.sha256(b"no such key").hexdigest()


class IdentityError(Exception):
    """A user, workspace or key could not be created or changed as asked."""


@dataclass(frozen=True)
class IssuedKey:
    """A new API key: shown once, then only its hash is kept."""

    api_key: str
    key_id: str
    user_id: str
    workspace_id: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


_KEY_QUERY = (
    "SELECT secret_hash, user_id, workspace_id, revoked_at FROM api_keys WHERE id = :id"
)
# A transaction that records a decision made as a presumed caller confirms
# the caller's key with this check (PostgreSQL only): it fails, and aborts the
# transaction, unless the key is still live. Its user, workspace and secret
# never change, so a live key still names whom it named.
_LIVE_KEY_CHECK = "SELECT require_live_api_key(:id) AS live"
POSTGRES_FUNCTIONS = [
    """CREATE OR REPLACE FUNCTION require_live_api_key(key_id text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
  PERFORM FROM api_keys WHERE id = key_id AND revoked_at IS NULL;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'API key % is not live', key_id
      USING ERRCODE = 'invalid_authorization_specification';
  END IF;
END
$$""",
]
# The error the check raises; nothing else raises it once connected.
KEY_NOT_LIVE_SQLSTATE = "28000"
# Rows of live keys that a process remembers, to presume their holders.
KNOWN_KEYS = 1_024


class _KeyCheck:
    """The check of a key's secret against its row, once the row is read.

    A key of the wrong form has no row to read (`found` is None), and fails.
    """

    def __init__(
        self,
        found: SoonRows | None,
        secret: str,
        known: _KnownKeys | None = None,
        key_id: str = "",
    ) -> None:
        self._found = found
        self._secret = secret
        self._known = known
        self._key_id = key_id
        self._principal: Principal | None = None
        self._checked = found is None

    def principal(self) -> Principal | None:
        if not self._checked:
            assert self._found is not None
            rows = self._found.rows()
            self._principal = _principal_of(rows, self._secret)
            self._checked = True
            if self._known is not None:
                self._known.learn(self._key_id, rows)
        return self._principal

    def presumed(self) -> Principal | None:
        if self._known is None:
            return None
        return self._known.presumed(self._key_id, self._secret)

    def cancel(self) -> None:
        if self._found is not None:
            self._found.cancel()


class _KnownKeys:
    """The rows of keys that this process last found live, by key id.

    At most `size` of them; when full, the longest known is forgotten.
    """

    def __init__(self, size: int = KNOWN_KEYS) -> None:
        self.size = size
        self._rows: dict[str, dict[str, Any]] = {}

    def learn(self, key_id: str, rows: list[dict[str, Any]]) -> None:
        """Remember the key's row (if any) while it is live; forget it once not.

        Whether the caller knew the secret does not matter here: `presumed`
        compares every secret with the row's hash.
        """
        if not rows or rows[0]["revoked_at"] is not None:
            self._rows.pop(key_id, None)
        elif key_id not in self._rows:
            if len(self._rows) >= self.size:
                self._rows.pop(next(iter(list(self._rows)), ""), None)
            self._rows[key_id] = dict(rows[0])

    def row(self, key_id: str) -> dict[str, Any] | None:
        return self._rows.get(key_id)

    def presumed(self, key_id: str, secret: str) -> Principal | None:
        """The holder of a remembered key, if `secret` is the key's own."""
        row = self.row(key_id)
        return None if row is None else _principal_of([row], secret)


def _key_parts(api_key: str) -> tuple[str, str] | None:
    """The key id and the secret of a key of the right form, else None.

    A key of the wrong form costs the same comparison as any other.
    """
    match = _KEY_PATTERN.match(api_key)
    if match is None:
        hmac.compare_digest(_UNKNOWN_KEY_HASH, _hash(api_key))
        return None
    body, secret = match.groups()
    return KEY_PREFIX + body, secret


def _principal_of(rows: list[dict[str, Any]], secret: str) -> Principal | None:
    """Who holds the key whose row (if any) is in `rows`, if `secret` is its own."""
    stored = rows[0]["secret_hash"] if rows else _UNKNOWN_KEY_HASH
    matches = hmac.compare_digest(stored, _hash(secret))
    if not rows or not matches or rows[0]["revoked_at"] is not None:
        return None
    return Principal(user_id=rows[0]["user_id"], workspace_id=rows[0]["workspace_id"])


class IdentityStore:
    """The identity tables of a database; implements `IdentityDirectory`."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._known = _KnownKeys()

    def create_key(self, email: str, workspace_name: str) -> IssuedKey:
        """Make a key for `email` in `workspace_name`, creating both when new."""
        email = email.strip().lower()
        workspace_name = workspace_name.strip()
        if not _EMAIL_PATTERN.match(email):
            raise IdentityError(f"{email!r} is not an email address")
        if not 1 <= len(workspace_name) <= 200 or "\x00" in workspace_name:
            raise IdentityError("a workspace name is 1 to 200 characters long")

        body = new_id("")
        secret = secrets.token_urlsafe(32)
        moment = to_millis(now())
        with self.database.writing() as session:
            user_id = self._ensure(
                session, "users", "email", email, prefix=USER_PREFIX, at=moment
            )
            workspace_id = self._ensure(
                session,
                "workspaces",
                "name",
                workspace_name,
                prefix=WORKSPACE_PREFIX,
                at=moment,
            )
            session.execute(
                "INSERT INTO memberships (user_id, workspace_id, created_at) "
                "VALUES (:user_id, :workspace_id, :created_at) "
                "ON CONFLICT (user_id, workspace_id) DO NOTHING",
                {
                    "user_id": user_id,
                    "workspace_id": workspace_id,
                    "created_at": moment,
                },
            )
            session.execute(
                "INSERT INTO api_keys "
                "(id, secret_hash, user_id, workspace_id, created_at) "
                "VALUES (:id, :secret_hash, :user_id, :workspace_id, :created_at)",
                {
                    "id": KEY_PREFIX + body,
                    "secret_hash": _hash(secret),
                    "user_id": user_id,
                    "workspace_id": workspace_id,
                    "created_at": moment,
                },
            )
        return IssuedKey(
            api_key=f"sk_{body}_{secret}",
            key_id=KEY_PREFIX + body,
            user_id=user_id,
            workspace_id=workspace_id,
        )

    @staticmethod
    def _ensure(
        session: SqlSession,
        table: str,
        column: str,
        value: str,
        *,
        prefix: str,
        at: int,
    ) -> str:
        session.execute(
            f"INSERT INTO {table} (id, {column}, created_at) "
            f"VALUES (:id, :value, :created_at) ON CONFLICT ({column}) DO NOTHING",
            {"id": new_id(prefix), "value": value, "created_at": at},
        )
        rows = session.fetch(
            f"SELECT id FROM {table} WHERE {column} = :value", {"value": value}
        )
        return str(rows[0]["id"])

    def revoke_key(self, key_id: str) -> bool:
        """Revoke a key; return False when there is no such live key."""
        with self.database.writing() as session:
            rows = session.fetch(
                "UPDATE api_keys SET revoked_at = :at "
                "WHERE id = :id AND revoked_at IS NULL RETURNING id",
                {"id": key_id, "at": to_millis(now())},
            )
        return bool(rows)

    def authenticate(self, api_key: str) -> Principal | None:
        parts = _key_parts(api_key)
        if parts is None:
            return None
        key_id, secret = parts
        with self.database.reading() as session:
            rows = session.fetch(_KEY_QUERY, {"id": key_id})
        principal = _principal_of(rows, secret)
        self._known.learn(key_id, rows)
        return principal

    def look_up(self, api_key: str) -> KeyLookup:
        """The check of `api_key`, which may ride along with a command's read.

        A key this process found live before is presumed to be so still; a
        command that records without reading first confirms it instead, in
        the recording transaction (on stores that can).
        """
        parts = _key_parts(api_key)
        if parts is None:
            return _KeyCheck(None, "")
        key_id, secret = parts
        params = {"id": key_id}
        row = self._known.row(key_id)
        presumption = None
        if row is not None:
            presumption = Presumption([row], _LIVE_KEY_CHECK, params)
        found = self.database.fetch_soon(_KEY_QUERY, params, presumption)
        return _KeyCheck(found, secret, self._known, key_id)

    def is_member(self, user_id: str, workspace_id: str) -> bool:
        with self.database.reading() as session:
            rows = session.fetch(
                "SELECT 1 AS found FROM memberships "
                "WHERE user_id = :user_id AND workspace_id = :workspace_id",
                {"user_id": user_id, "workspace_id": workspace_id},
            )
        return bool(rows)
