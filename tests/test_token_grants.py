"""A token never grants more than it holds (second review, H1): what an admin token
creates or changes, itself included, stays within its own permission and spaces, over
the MCP tools, the web API and the service they share."""

from __future__ import annotations

import itertools

import httpx
import pytest

from domain import ALL_SPACES, AgentName, Identity, Permission, PermissionDenied, SpaceId
from tests.http_support import running_server
from tests.mcp_support import BOOTSTRAP_KEY, OTHER, SPACE, Deployment, connect, deploy, error_text, payload


async def _limited_admin(deployment: Deployment) -> tuple[str, str]:
    """An admin token for OTHER only: its secret and its id."""
    admin = await deployment.services.auth.authenticate(BOOTSTRAP_KEY)
    issued = await deployment.services.auth.create(admin, "beta-admin", "admin", [OTHER])
    return issued.secret, issued.record.token_id


async def test_a_limited_admin_creating_a_token_without_spaces_gets_only_its_own() -> None:
    deployment = await deploy()
    secret, _ = await _limited_admin(deployment)
    async with connect(deployment.services, secret) as client:
        made = payload(await client.call_tool("admin_create_token", {"name": "n1", "permissions": "admin"}))
    assert made["space_ids"] == [OTHER]
    minted = await deployment.services.auth.authenticate(made["token"])
    assert minted.spaces == (OTHER,)
    assert not minted.can_use(SpaceId(SPACE))


@pytest.mark.parametrize("spaces", [ALL_SPACES, SPACE, f"{OTHER},{SPACE}"])
async def test_a_limited_admin_cannot_create_a_token_for_a_space_it_lacks(spaces: str) -> None:
    deployment = await deploy()
    secret, _ = await _limited_admin(deployment)
    before = deployment.snapshot()
    async with connect(deployment.services, secret) as client:
        result = await client.call_tool(
            "admin_create_token", {"name": "n2", "permissions": "read", "space_ids": spaces}
        )
    assert error_text(result).startswith("PermissionDenied:"), error_text(result)
    assert deployment.snapshot() == before


async def test_a_limited_admin_cannot_widen_its_own_spaces() -> None:
    deployment = await deploy()
    secret, token_id = await _limited_admin(deployment)
    before = deployment.snapshot()
    async with connect(deployment.services, secret) as client:
        widened = await client.call_tool("admin_update_token", {"token_hash": token_id, "space_ids": "*"})
        added = await client.call_tool(
            "admin_update_token", {"token_hash": token_id, "space_ids": f"{OTHER},{SPACE}"}
        )
        bulk = await client.call_tool(
            "admin_bulk_update_tokens", {"token_hashes": token_id, "space_ids": SPACE}
        )
    for result in (widened, added, bulk):
        assert error_text(result).startswith("PermissionDenied:"), error_text(result)
    assert deployment.snapshot() == before
    assert (await deployment.services.auth.authenticate(secret)).spaces == (OTHER,)


async def test_a_limited_admin_cannot_change_or_revoke_a_token_beyond_its_rights() -> None:
    deployment = await deploy()
    secret, _ = await _limited_admin(deployment)
    before = deployment.snapshot()
    # the victim token is read on SPACE, which the limited admin cannot use
    async with connect(deployment.services, secret) as client:
        narrowed = await client.call_tool(
            "admin_update_token", {"token_hash": deployment.victim_token_id, "space_ids": OTHER}
        )
        revoked = await client.call_tool("admin_revoke_token", {"token_hash": deployment.victim_token_id})
        deleted = await client.call_tool("admin_delete_token", {"token_hash": deployment.victim_token_id})
    for result in (narrowed, revoked, deleted):
        assert error_text(result).startswith("PermissionDenied:"), error_text(result)
    assert deployment.snapshot() == before


async def test_the_web_api_creates_tokens_within_the_callers_rights_only() -> None:
    deployment = await deploy()
    secret, _ = await _limited_admin(deployment)
    before = deployment.snapshot()
    headers = {"Authorization": f"Bearer {secret}"}
    async with running_server(deployment.services) as base, httpx.AsyncClient(base_url=base) as http:
        body = {"name": "w1", "permission": "read", "space_ids": "*"}
        wide = await http.post("/api/tokens", json=body, headers=headers)
        assert wide.status_code == 403, wide.text
        assert deployment.snapshot() == before
        empty = await http.post("/api/tokens", json={"name": "w2", "permission": "read"}, headers=headers)
    assert empty.status_code == 200, empty.text
    assert empty.json()["space_ids"] == [OTHER]


_PERMISSIONS = (Permission.READ, Permission.WRITE, Permission.MANAGE, Permission.ADMIN)
_SPACE_SETS: tuple[tuple[str, ...], ...] = ((SPACE,), (OTHER,), (SPACE, OTHER), (ALL_SPACES,))


@pytest.mark.parametrize(
    ("creator_spaces", "granted_permission", "granted_spaces"),
    list(itertools.product(_SPACE_SETS, _PERMISSIONS, _SPACE_SETS)),
)
async def test_creation_matrix_allows_exactly_what_the_creator_holds(
    creator_spaces: tuple[str, ...], granted_permission: Permission, granted_spaces: tuple[str, ...]
) -> None:
    """Every admin scope against every grant: allowed exactly when the grant's spaces are
    among the creator's (``*`` only from ``*``); refused grants write nothing."""
    deployment = await deploy()
    admin = await deployment.services.auth.authenticate(BOOTSTRAP_KEY)
    creator = await deployment.services.auth.create(admin, "creator", "admin", list(creator_spaces))
    me = await deployment.services.auth.authenticate(creator.secret)
    within = ALL_SPACES in creator_spaces or set(granted_spaces) <= set(creator_spaces)
    before = deployment.snapshot()
    try:
        issued = await deployment.services.auth.create(
            me, "granted", granted_permission.label, list(granted_spaces)
        )
    except PermissionDenied:
        assert not within
        assert deployment.snapshot() == before
    else:
        assert within
        assert issued.record.spaces == granted_spaces


def test_a_permission_above_the_callers_is_never_within() -> None:
    writer = Identity(AgentName("w"), Permission.WRITE, (ALL_SPACES,))
    assert writer.covers(Permission.READ, (SPACE,))
    assert not writer.covers(Permission.MANAGE, (SPACE,))
    with pytest.raises(PermissionDenied, match="cannot grant manage"):
        writer.require_within(Permission.MANAGE, (SPACE,))
