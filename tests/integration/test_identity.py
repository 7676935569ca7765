"""API keys, users, workspaces and memberships, on every store."""

from __future__ import annotations

import pytest

from infrastructure.identity import IdentityError
from infrastructure.wiring import Services


def test_a_key_identifies_its_user_and_workspace(services: Services) -> None:
    issued = services.create_key("Ada@Example.com", "research")

    principal = services.identity.authenticate(issued.api_key)

    assert principal is not None
    assert (principal.user_id, principal.workspace_id) == (
        issued.user_id,
        issued.workspace_id,
    )
    assert issued.user_id.startswith("user_") and issued.workspace_id.startswith("ws_")
    assert issued.key_id.startswith("key_")


def test_the_same_user_and_workspace_are_reused(services: Services) -> None:
    first = services.create_key("ada@example.com", "shared")
    second = services.create_key("ADA@example.com ", " shared")
    colleague = services.create_key("bob@example.com", "shared")

    assert first.user_id == second.user_id
    assert first.workspace_id == second.workspace_id == colleague.workspace_id
    assert first.api_key != second.api_key
    assert services.identity.is_member(colleague.user_id, first.workspace_id)


def test_only_a_hash_of_the_key_is_stored(services: Services) -> None:
    issued = services.create_key("ada@example.com", "research")
    # The secret itself may hold underscores: it is everything after the key id.
    secret = issued.api_key.split("_", 2)[2]

    with services.database.reading() as session:
        rows = session.fetch("SELECT * FROM api_keys")

    assert all(secret not in str(value) for row in rows for value in row.values())


def test_wrong_and_revoked_keys_are_refused(services: Services) -> None:
    issued = services.create_key("ada@example.com", "research")
    tampered = issued.api_key[:-1] + ("A" if issued.api_key[-1] != "A" else "B")

    assert services.identity.authenticate(tampered) is None
    assert services.identity.authenticate("sk_nonsense") is None
    assert services.identity.authenticate("") is None
    assert services.identity.revoke_key(issued.key_id)
    assert services.identity.authenticate(issued.api_key) is None
    assert not services.identity.revoke_key(issued.key_id)


def test_a_user_is_not_a_member_of_another_workspace(services: Services) -> None:
    ada = services.create_key("ada@example.com", "mine")
    bob = services.create_key("bob@example.com", "theirs")

    assert not services.identity.is_member(ada.user_id, bob.workspace_id)


@pytest.mark.parametrize(
    ("email", "workspace"),
    [("not-an-email", "w"), ("a@b.c", ""), ("a@b.c", "x" * 201)],
)
def test_bad_identity_values_are_refused(
    services: Services, email: str, workspace: str
) -> None:
    with pytest.raises(IdentityError):
        services.create_key(email, workspace)


def test_a_key_found_live_is_presumed_live_with_its_own_secret_only(
    services: Services,
) -> None:
    issued = services.create_key("ada@example.com", "research")
    assert services.identity.look_up(issued.api_key).presumed() is None
    assert services.identity.authenticate(issued.api_key) is not None
    wrong_secret = issued.api_key[:-4] + (
        "aaaa" if issued.api_key[-4:] != "aaaa" else "bbbb"
    )

    presumed = services.identity.look_up(issued.api_key).presumed()

    assert presumed is not None
    assert (presumed.user_id, presumed.workspace_id) == (
        issued.user_id,
        issued.workspace_id,
    )
    assert services.identity.look_up(wrong_secret).presumed() is None


def test_a_key_found_revoked_is_no_longer_presumed_live(services: Services) -> None:
    issued = services.create_key("ada@example.com", "research")
    assert services.identity.authenticate(issued.api_key) is not None
    assert services.identity.revoke_key(issued.key_id)

    assert services.identity.authenticate(issued.api_key) is None

    assert services.identity.look_up(issued.api_key).presumed() is None
