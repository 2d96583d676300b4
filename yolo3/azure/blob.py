"""Upload a folder to Azure Blob Storage: parallel, idempotent, retried, never leaking secrets.

Blob names are the files' paths relative to the folder (``/``-separated), after an
optional prefix: uploading ``data/`` puts ``data/img.jpg`` at ``img.jpg`` (or
``<prefix>/img.jpg``). keras-yolo3-azureml used the local path itself, so VoTT showed
``data%2F`` prefixes. A blob that already has the file's size and MD5 is skipped, so a
re-run only sends what is missing or changed.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from yolo3.errors import YoloError, first_line
from yolo3.files import file_md5

RETRIES = 4


@dataclass
class Credentials:
    """How to reach the storage account; ``secrets`` lists what must never be printed."""

    kind: str  # "connection string", "account key", "SAS token", "Azure AD"
    account_url: str | None = None
    connection_string: str | None = None
    credential: object = None
    secrets: list[str] = field(default_factory=list)

    def client(self, **kwargs):
        from azure.storage.blob import BlobServiceClient

        if self.connection_string:
            return BlobServiceClient.from_connection_string(self.connection_string, **kwargs)
        return BlobServiceClient(self.account_url, credential=self.credential, **kwargs)


def resolve_credentials(account: str | None = None, key: str | None = None,
                        sas: str | None = None, account_url: str | None = None,
                        env: dict | None = None, verbose: bool = False) -> Credentials:
    """Pick credentials: an explicit --key or --sas first, then STORAGE_CONNECTION_STRING,
    STORAGE_ACCOUNT_NAME + STORAGE_ACCOUNT_KEY, STORAGE_SAS_TOKEN, else Azure AD
    (DefaultAzureCredential) for the account, signed in up front so that a missing sign-in
    is one line at once rather than minutes of retries."""
    env = os.environ if env is None else env
    account = account or env.get("STORAGE_ACCOUNT_NAME")
    account_url = account_url or env.get("STORAGE_ACCOUNT_URL")
    if account and not account_url:
        account_url = f"https://{account}.blob.core.windows.net"
    connection = env.get("STORAGE_CONNECTION_STRING")
    key = key or (None if connection else env.get("STORAGE_ACCOUNT_KEY"))
    sas = sas or (None if connection or key else env.get("STORAGE_SAS_TOKEN"))
    if key:
        if not account:
            raise YoloError("an account key needs the account name (--account or "
                            "STORAGE_ACCOUNT_NAME)")
        return Credentials("account key", account_url,
                           credential={"account_name": account, "account_key": key},
                           secrets=[key])
    if sas:
        if not account_url:
            raise YoloError("a SAS token needs the account (--account or STORAGE_ACCOUNT_NAME)")
        return Credentials("SAS token", account_url, credential=sas.lstrip("?"),
                           secrets=[sas, sas.lstrip("?")])
    if connection:
        parts = dict(p.split("=", 1) for p in connection.split(";") if "=" in p)
        _check_connection_string(connection)
        return Credentials("connection string", connection_string=connection,
                           secrets=[connection] + [v for k, v in parts.items()
                                                   if k in ("AccountKey", "SharedAccessSignature")])
    if not account_url:
        raise YoloError("no storage credentials: set STORAGE_CONNECTION_STRING, or "
                        "STORAGE_ACCOUNT_NAME with STORAGE_ACCOUNT_KEY or STORAGE_SAS_TOKEN, or "
                        "give --account to sign in with Azure AD")
    from yolo3.azure.signin import STORAGE_SCOPE, signed_in_credential

    return Credentials("Azure AD", account_url,
                       credential=signed_in_credential(STORAGE_SCOPE, verbose))


def _check_connection_string(connection: str) -> None:
    """One line, without the secret, for a connection string the SDK cannot use."""
    from azure.storage.blob import BlobServiceClient

    try:
        BlobServiceClient.from_connection_string(connection)
    except (ValueError, TypeError, AttributeError):
        raise YoloError("STORAGE_CONNECTION_STRING is malformed: copy it from the storage "
                        "account's Access keys page (DefaultEndpointsProtocol=https;"
                        "AccountName=...;AccountKey=...;EndpointSuffix=...)") from None


def redact(text: str, secrets: list[str]) -> str:
    """Text safe to print: known secrets and URL query strings (SAS) removed."""
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    text = re.sub(r"(https?://[^\s?'\"]+)\?[^\s'\"]*", r"\1?***", text)
    return re.sub(r"(AccountKey|SharedAccessSignature|sig)=[^;&\s'\"]+", r"\1=***", text)


def local_files(folder: Path, prefix: str = "") -> list[tuple[Path, str]]:
    """(file, blob name) for every file under ``folder``, sorted."""
    if not folder.is_dir():
        raise YoloError(f"{folder}: no such folder")
    prefix = prefix.strip("/")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return [(p, "/".join(filter(None, [prefix, p.relative_to(folder).as_posix()])))
            for p in files]


@dataclass
class UploadReport:
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    bytes_sent: int = 0


def _transient(error: Exception) -> bool:
    from azure.core.exceptions import HttpResponseError, ServiceRequestError

    if isinstance(error, ServiceRequestError):
        return True
    status = getattr(error, "status_code", None)
    return isinstance(error, HttpResponseError) and (status is None or status >= 500
                                                     or status in (408, 429))


def upload_folder(credentials: Credentials, container: str, folder: Path, prefix: str = "",
                  overwrite: bool = False, workers: int = 8, progress: bool = True,
                  client_options: dict | None = None, upload=None) -> UploadReport:
    """Upload every file of ``folder``; see the module doc. ``upload`` replaces the call that
    sends one file (tests use it to inject failures)."""
    from azure.core.exceptions import AzureError, ResourceExistsError
    from azure.storage.blob import ContentSettings
    from tqdm import tqdm

    files = local_files(Path(folder), prefix)
    service = credentials.client(**(client_options or {}))
    try:
        container_client = service.get_container_client(container)
        with contextlib.suppress(ResourceExistsError):
            container_client.create_container()  # private: no public access
        existing = {} if overwrite else {
            b.name: (b.size, bytes(b.content_settings.content_md5 or b""))
            for b in container_client.list_blobs(name_starts_with=prefix.strip("/") or None)}
    except AzureError as error:
        raise YoloError(f"cannot reach container {container!r} ({credentials.kind}): "
                        + redact(str(error).splitlines()[0], credentials.secrets)) from None

    report = UploadReport()
    lock = threading.Lock()
    total = sum(p.stat().st_size for p, _ in files)
    bar = tqdm(total=total, unit="B", unit_scale=True, disable=not progress, file=sys.stderr,
               desc="upload")

    def send(path: Path, name: str, md5: bytes) -> None:
        with open(path, "rb") as data:
            container_client.upload_blob(
                name, data, overwrite=True, length=path.stat().st_size, max_concurrency=2,
                content_settings=ContentSettings(content_md5=bytearray(md5)))

    send_one = upload or send

    def work(path: Path, name: str) -> str:
        size, md5 = path.stat().st_size, file_md5(path)
        if existing.get(name) == (size, md5):
            with lock:
                report.skipped.append(name)
                bar.update(size)
            return "skipped"
        for attempt in range(RETRIES):
            try:
                send_one(path, name, md5)
                break
            except Exception as error:  # noqa: BLE001 - classified just below
                if attempt == RETRIES - 1 or not _transient(error):
                    raise
                time.sleep(min(8.0, 0.5 * 2 ** attempt))
        with lock:
            report.uploaded.append(name)
            report.bytes_sent += size
            bar.update(size)
        return "uploaded"

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(work, p, n): n for p, n in files}
        for future in as_completed(futures):
            try:
                future.result()
            except Exception as error:  # noqa: BLE001 - one file's failure must not stop the rest
                message = redact(first_line(error), credentials.secrets)
                report.failed[futures[future]] = message
    bar.close()
    return report

