"""What every ``live-mem`` command shares: settings, acting with a token through the
application services, and printing for people or as JSON."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs
import click

from application.services import Services
from application.store import StoreError
from domain import AuthenticationFailed, DomainError, Identity
from interfaces import bootstrap

__all__ = ["emit", "json_option", "run_as", "settings", "token_option"]

T = TypeVar("T")


def settings(**overrides: Any) -> bootstrap.Settings:
    """The settings (environment, then ``.env``) with ``overrides`` that are not None;
    a wrong setting is a one-line error and exit status 1."""
    env = bootstrap.environment()
    try:
        loaded = bootstrap.Settings.from_mapping(env)
    except bootstrap.SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    for line in bootstrap.setting_warnings(env):
        click.echo(line, err=True)
    return attrs.evolve(loaded, **{k: v for k, v in overrides.items() if v is not None})


def run_as(work: Callable[[Services, Identity], Awaitable[T]], token: str | None) -> T:
    """Build the services, authenticate, run ``work``, close the store; domain and store
    errors become a one-line error and exit status 1."""
    configured = settings()

    async def main() -> T:
        services = await bootstrap.services_from_settings(configured)
        try:
            try:
                caller = await services.auth.authenticate(
                    token or configured.local_token or configured.admin_bootstrap_key
                )
            except AuthenticationFailed as exc:
                raise AuthenticationFailed(
                    f"{exc} (store: {bootstrap.describe_store(configured)}; a token works only "
                    "with the store it was made in: check LIVE_MEM_DATA_DIR or S3_BUCKET_NAME)"
                ) from None
            return await work(services, caller)
        finally:
            await services.close()

    try:
        return asyncio.run(main())
    except bootstrap.SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    except (DomainError, StoreError) as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc


def emit(as_json: bool, data: Any, human: Callable[[Any], str]) -> None:
    """Print ``data`` as indented JSON, or as ``human(data)``."""
    click.echo(json.dumps(data, indent=2, default=str) if as_json else human(data))


token_option = click.option("--token", envvar="LIVE_MEM_TOKEN", help="Bearer token to act with.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
