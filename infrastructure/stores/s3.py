"""``S3ObjectStore``: the object store on any S3 API (AWS, MinIO, SeaweedFS, Dell ECS).

Signature modes (``S3_SIGNATURE_MODE``):

- ``sigv4``: every call signed with AWS Signature Version 4 (botocore ``s3v4``).
- ``hybrid`` (Dell ECS): object calls (PutObject, GetObject, DeleteObject, CopyObject,
  HeadObject) signed with Signature Version 2 (botocore ``s3``, "Signing and
  Authenticating REST Requests" in the S3 API reference), while HeadBucket and
  ListObjectsV2 are signed with SigV4, which is what ECS requires of them.
  Two clients share the credentials; each call goes through the right one.

Both modes use path-style addressing and send no flexible-checksum headers
(``x-amz-checksum-*``, ``x-amz-sdk-checksum-algorithm``), which ECS and older S3
servers reject. Transient failures are retried by botocore's ``standard`` retry mode;
vendor exceptions are translated into :mod:`application.store` errors here and never
leave this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, TypeVar

import aiohttp
from aiobotocore.session import get_session
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    NoCredentialsError,
    ReadTimeoutError,
)

from application.store import (
    ObjectInfo,
    ObjectNotFound,
    PreconditionFailed,
    StoreAccessDenied,
    StoredObject,
    StoreError,
    StoreUnavailable,
    check_key,
)
from infrastructure.stores._common import check_page_size
from infrastructure.stores.s3_config import S3Config, SignatureMode

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

__all__ = ["S3Config", "S3ObjectStore", "SignatureMode"]


_NOT_FOUND: Final = {"NoSuchKey", "404", "NotFound"}
_PRECONDITION: Final = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}
_DENIED: Final = {
    "AccessDenied",
    "403",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "InvalidToken",
    "ExpiredToken",
    "AuthorizationHeaderMalformed",
}
T = TypeVar("T")
_TRANSPORT_ERRORS: Final = (BotoCoreError, aiohttp.ClientError, asyncio.TimeoutError, OSError)


def _code_and_status(exc: ClientError) -> tuple[str, str]:
    """The S3 error code (or the HTTP status when there is none) and the HTTP status."""
    status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return str(exc.response.get("Error", {}).get("Code", "")) or status, status


def _cause(exc: BaseException) -> str:
    """Why a request did not get an answer, in words: refused, timed out, DNS, TLS,
    credentials (read along the exception's chain, botocore wrapping aiohttp)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, NoCredentialsError):
            return "no credentials (S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY)"
        if isinstance(seen, TimeoutError | ConnectTimeoutError | ReadTimeoutError):
            return "timed out"
        if isinstance(seen, socket.gaierror) or "Name or service not known" in str(seen):
            return "DNS: the endpoint's host name does not resolve"
        if isinstance(seen, ConnectionRefusedError) or (
            isinstance(seen, OSError) and seen.errno == errno.ECONNREFUSED
        ):
            return "connection refused"
        if isinstance(seen, ssl.SSLError):
            return f"TLS: {seen.reason or seen}"
        os_error = getattr(seen, "os_error", None)
        seen = os_error if isinstance(os_error, BaseException) else (seen.__cause__ or seen.__context__)
    return f"cannot reach the store ({type(exc).__name__})"


def _translate(exc: Exception, what: str, *, missing: type[StoreError] = ObjectNotFound) -> StoreError:
    """Map a botocore/aiohttp exception to the port's error family."""
    if not isinstance(exc, ClientError):
        return StoreUnavailable(f"{what}: {_cause(exc)}")
    code, status = _code_and_status(exc)
    if code == "NoSuchBucket":
        return StoreUnavailable(f"{what}: the bucket does not exist")
    if code in _NOT_FOUND or status == "404":
        return missing(f"{what}: not found")
    if code in _PRECONDITION or status in ("412", "409"):
        return PreconditionFailed(f"{what}: precondition failed ({code})")
    if code in _DENIED or status == "403":
        return StoreAccessDenied(
            f"{what}: the store refused our credentials ({code}); check the access key, "
            "secret and S3_SIGNATURE_MODE"
        )
    if status.startswith("5") or code in ("SlowDown", "ServiceUnavailable", "InternalError"):
        return StoreUnavailable(f"{what}: the store failed ({code})")
    return StoreError(f"{what}: the store answered {code}")


class S3ObjectStore:
    """An ``ObjectStore`` on an S3 bucket. Build it with :meth:`open` inside the event
    loop that will use it, and :meth:`close` it when done.

    ``supports_conditional_writes`` is ``config.conditional_writes``.
    """

    def __init__(
        self,
        config: S3Config,
        object_client: S3Client,
        list_client: S3Client,
        stack: contextlib.AsyncExitStack,
        *,
        probe_client: S3Client | None = None,
    ) -> None:
        self._config = config
        self._objects = object_client
        self._lists = list_client
        self._probe = probe_client or list_client
        self._stack = stack
        self._local_lock = asyncio.Lock()

    @classmethod
    async def open(cls, config: S3Config, *, on_request: Callable[..., None] | None = None) -> S3ObjectStore:
        """Create the clients for ``config``.

        Args:
            config: the bucket and how to sign.
            on_request: optional botocore ``before-send`` hook (receives ``request=``),
                registered on both clients; tests use it to read signatures.
        """
        session = get_session()
        stack = contextlib.AsyncExitStack()
        modes = ("s3", "s3v4") if config.signature_mode == "hybrid" else ("s3v4", "s3v4")
        # the third client probes (HEAD bucket) in one attempt: a health or start-up
        # check wants the store's answer now, with its cause, not retries that outlast
        # its wait
        specs: list[tuple[str, int | None]] = [(modes[0], None), (modes[1], None), ("s3v4", 1)]
        clients: list[S3Client] = []
        for mode, attempts in specs:
            client = await stack.enter_async_context(
                session.create_client(
                    "s3",
                    endpoint_url=config.endpoint_url,
                    aws_access_key_id=config.access_key_id,
                    aws_secret_access_key=config.secret_access_key,
                    region_name=config.region,
                    config=config.botocore_config(mode, attempts=attempts),
                )
            )
            if on_request is not None:
                client.meta.events.register("before-send.s3", on_request)
            clients.append(client)
        return cls(config, clients[0], clients[1], stack, probe_client=clients[2])

    async def _bounded(self, call: Awaitable[T]) -> T:
        """``call``, given at most ``S3_CALL_TIMEOUT`` seconds, retries included."""
        async with asyncio.timeout(self._config.call_timeout):
            return await call

    @property
    def supports_conditional_writes(self) -> bool:
        """As configured (``S3Config.conditional_writes``)."""
        return self._config.conditional_writes

    async def get(self, key: str) -> StoredObject:
        """See :meth:`application.store.ObjectStore.get`."""
        check_key(key)
        try:
            async with asyncio.timeout(self._config.call_timeout):
                response = await self._objects.get_object(Bucket=self._config.bucket, Key=key)
                async with response["Body"] as body:
                    data = await body.read()
        except (ClientError, *_TRANSPORT_ERRORS) as exc:
            raise _translate(exc, f"GET {key!r}") from exc
        return StoredObject(data=data, etag=response["ETag"].strip('"'))

    async def head(self, key: str) -> ObjectInfo:
        """See :meth:`application.store.ObjectStore.head`."""
        check_key(key)
        try:
            response = await self._bounded(self._objects.head_object(Bucket=self._config.bucket, Key=key))
        except (ClientError, *_TRANSPORT_ERRORS) as exc:
            raise _translate(exc, f"HEAD {key!r}") from exc
        return ObjectInfo(key=key, size=response["ContentLength"], etag=response["ETag"].strip('"'))

    async def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> str:
        """See :meth:`application.store.ObjectStore.put`."""
        return await self._put(key, data, content_type, {})

    async def put_if_absent(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> str:
        """See :meth:`application.store.ObjectStore.put_if_absent`."""
        if self._config.conditional_writes:
            return await self._put(key, data, content_type, {"IfNoneMatch": "*"})
        async with self._local_lock:  # atomic in this process only: see supports_conditional_writes
            try:
                await self.head(key)
            except ObjectNotFound:
                return await self._put(key, data, content_type, {})
            raise PreconditionFailed(f"object {key!r} already exists")

    async def put_if_match(
        self, key: str, data: bytes, etag: str, *, content_type: str = "application/octet-stream"
    ) -> str:
        """See :meth:`application.store.ObjectStore.put_if_match`."""
        if self._config.conditional_writes:
            quoted = '"' + etag.strip('"') + '"'
            return await self._put(key, data, content_type, {"IfMatch": quoted})
        async with self._local_lock:  # atomic in this process only: see supports_conditional_writes
            try:
                current = await self.head(key)
            except ObjectNotFound:
                raise PreconditionFailed(f"object {key!r} vanished") from None
            if current.etag != etag.strip('"'):
                raise PreconditionFailed(f"object {key!r} changed")
            return await self._put(key, data, content_type, {})

    async def _put(self, key: str, data: bytes, content_type: str, extra: dict[str, Any]) -> str:
        check_key(key)
        params: dict[str, Any] = {"Bucket": self._config.bucket, "Key": key, "Body": bytes(data)}
        params["ContentType"] = content_type
        try:
            response = await self._bounded(self._objects.put_object(**params, **extra))
        except (ClientError, *_TRANSPORT_ERRORS) as exc:
            # If-Match on a missing key: AWS answers 404, which is a lost precondition here.
            raise _translate(exc, f"PUT {key!r}", missing=PreconditionFailed) from exc
        return response["ETag"].strip('"')

    async def delete(self, key: str) -> None:
        """See :meth:`application.store.ObjectStore.delete`."""
        check_key(key)
        try:
            await self._bounded(self._objects.delete_object(Bucket=self._config.bucket, Key=key))
        except (ClientError, *_TRANSPORT_ERRORS) as exc:
            error = _translate(exc, f"DELETE {key!r}")
            if not isinstance(error, ObjectNotFound):
                raise error from exc

    async def list_pages(
        self, prefix: str = "", *, page_size: int = 1000, start_after: str = ""
    ) -> AsyncIterator[list[ObjectInfo]]:
        """See :meth:`application.store.ObjectStore.list_pages` (ListObjectsV2 with
        ``StartAfter``, SigV4)."""
        check_key(prefix, prefix=True)
        check_page_size(page_size)
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self._config.bucket, "Prefix": prefix, "MaxKeys": page_size}
            if start_after:
                kwargs["StartAfter"] = start_after
            if token:
                kwargs["ContinuationToken"] = token
            try:
                response = await self._bounded(self._lists.list_objects_v2(**kwargs))
            except (ClientError, *_TRANSPORT_ERRORS) as exc:
                raise _translate(exc, f"LIST {prefix!r}", missing=StoreUnavailable) from exc
            page = [
                ObjectInfo(key=item["Key"], size=item["Size"], etag=item["ETag"].strip('"'))
                for item in response.get("Contents", [])
            ]
            if page:
                yield page
            token = response.get("NextContinuationToken")
            if not response.get("IsTruncated") or not token:
                return

    async def ping(self) -> None:
        """HEAD bucket (SigV4), one attempt. Raises ``StoreUnavailable`` or
        ``StoreAccessDenied``."""
        try:
            await self._bounded(self._probe.head_bucket(Bucket=self._config.bucket))
        except (ClientError, *_TRANSPORT_ERRORS) as exc:
            error = _translate(exc, f"HEAD bucket {self._config.bucket!r}", missing=StoreUnavailable)
            if isinstance(error, StoreAccessDenied | StoreUnavailable):
                raise error from exc
            raise StoreUnavailable(str(error)) from exc

    async def close(self) -> None:
        """Close both clients."""
        await self._stack.aclose()
