"""How to reach an S3 bucket: settings only, so that reading them loads no S3 client
(aiobotocore is imported by the S3 adapter, on first use)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import attrs

if TYPE_CHECKING:
    from aiobotocore.config import AioConfig

__all__ = ["S3Config", "SignatureMode"]

SignatureMode = Literal["hybrid", "sigv4"]
"""``hybrid``: Dell ECS style, objects signed with SigV2, LIST and HEAD bucket with SigV4;
``sigv4``: everything SigV4 (see :mod:`infrastructure.stores.s3`)."""


@attrs.frozen
class S3Config:
    """How to reach one bucket.

    Attributes:
        endpoint_url: the S3 endpoint, e.g. ``https://s3.eu-west-3.amazonaws.com`` or
            ``http://127.0.0.1:8333``; None for AWS's default endpoint.
        access_key_id, secret_access_key: credentials.
        bucket: the bucket; it must exist.
        region: signing region (SigV4).
        signature_mode: ``hybrid`` or ``sigv4`` (see the module docstring).
        conditional_writes: whether the server honours ``If-None-Match``/``If-Match`` on
            PutObject (AWS since 2024, MinIO, SeaweedFS). When False, put-if-absent and
            put-if-match are emulated with HEAD + PUT under an in-process lock: atomic
            only within one process, so such a deployment must run one replica.
        max_attempts: total attempts per call, botocore ``standard`` retry mode.
        connect_timeout, read_timeout: seconds, per attempt.
        call_timeout: seconds one call may take, its retries included: a store that
            does not answer costs a tool call at most this (the defaults fit under the
            30-60 s MCP clients commonly wait).
    """

    bucket: str
    access_key_id: str = attrs.field(repr=False)
    secret_access_key: str = attrs.field(repr=False)
    endpoint_url: str | None = None
    region: str = "us-east-1"
    signature_mode: SignatureMode = "hybrid"
    conditional_writes: bool = True
    max_attempts: int = 3
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    call_timeout: float = 20.0

    def botocore_config(self, signature_version: str, *, attempts: int | None = None) -> AioConfig:
        """The botocore config for a client signing with ``signature_version``, making
        ``attempts`` attempts per call (``max_attempts`` when None)."""
        from aiobotocore.config import AioConfig  # noqa: PLC0415 - only S3 deployments load aiobotocore

        return AioConfig(
            signature_version=signature_version,
            region_name=self.region,
            s3={"addressing_style": "path"},
            retries={"max_attempts": attempts or self.max_attempts, "mode": "standard"},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
