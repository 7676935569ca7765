"""Identifiers that the service mints: a type prefix and a time-ordered body.

The body is 26 characters of lowercase Crockford base32: 48 bits of the
current time in milliseconds, then 80 random bits. Ids are URL-safe, never
reused in practice, and new ones sort after older ones, which keeps index
inserts at the right-hand edge of a B-tree.
"""

import os
import time

PROJECT_PREFIX = "proj_"
JOB_PREFIX = "job_"
TASK_PREFIX = "task_"
WORKSPACE_PREFIX = "ws_"
USER_PREFIX = "user_"
KEY_PREFIX = "key_"

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_BODY_LENGTH = 26


def new_id(prefix: str) -> str:
    """Return a new identifier that starts with `prefix`."""
    millis = time.time_ns() // 1_000_000
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")

    characters = []
    for _ in range(_BODY_LENGTH):
        characters.append(_ALPHABET[value & 31])
        value >>= 5
    return prefix + "".join(reversed(characters))
