#!/usr/bin/env python
"""Upload a folder (images, a VoTT export) to an Azure Blob Storage container.

    export STORAGE_CONNECTION_STRING="..."            # or STORAGE_ACCOUNT_NAME + _KEY / SAS
    python upload_to_blob.py --container rawdata --dir data

Blob names are paths relative to --dir (after --prefix). Files go up in parallel; a blob
with the same size and MD5 is skipped, so re-running finishes an interrupted upload;
transient errors are retried. Credentials, first found: --key / --sas on the command line
(works, but warns: shell history and process lists show them), STORAGE_CONNECTION_STRING,
STORAGE_ACCOUNT_NAME + STORAGE_ACCOUNT_KEY, STORAGE_SAS_TOKEN, else Azure AD
(DefaultAzureCredential) for --account. No secret is ever printed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from yolo3.cli import ArgumentParser, run


def parse_args(argv):
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, required=True, help="folder to upload")
    parser.add_argument("--container", default=os.environ.get("STORAGE_CONTAINER_NAME_RAWDATA"),
                        help="container (default: $STORAGE_CONTAINER_NAME_RAWDATA); created "
                             "private when missing")
    parser.add_argument("--account", help="storage account (default: $STORAGE_ACCOUNT_NAME)")
    parser.add_argument("--key", help="account key (prefer STORAGE_ACCOUNT_KEY)")
    parser.add_argument("--sas", help="SAS token (prefer STORAGE_SAS_TOKEN)")
    parser.add_argument("--account_url", "--account-url",
                        help="blob endpoint (default: https://<account>.blob.core.windows.net; "
                             "$STORAGE_ACCOUNT_URL)")
    parser.add_argument("--prefix", default="", help="folder inside the container")
    parser.add_argument("--overwrite", action="store_true",
                        help="upload every file, even unchanged ones")
    parser.add_argument("--workers", type=int, default=8, help="parallel uploads (default 8)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--verbose", action="store_true",
                        help="show the Azure SDK's own text when signing in fails")
    args = parser.parse_args(argv)
    if not args.container:
        parser.error("give --container (or set STORAGE_CONTAINER_NAME_RAWDATA)")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    return args


def main(argv=None) -> int:
    from yolo3.azure.blob import resolve_credentials, upload_folder

    args = parse_args(argv)
    for flag in ("key", "sas"):
        if getattr(args, flag):
            print(f"warning: --{flag} is visible in shell history and process lists; prefer "
                  f"the environment variable", file=sys.stderr)
    credentials = resolve_credentials(args.account, args.key, args.sas, args.account_url,
                                      verbose=args.verbose)
    report = upload_folder(credentials, args.container, args.dir, args.prefix, args.overwrite,
                           args.workers, progress=not args.quiet)
    print(f"Uploaded {len(report.uploaded)} files ({report.bytes_sent / 1e6:.1f} MB), skipped "
          f"{len(report.skipped)} unchanged, {len(report.failed)} failed → container "
          f"{args.container!r} ({credentials.kind}).")
    for name, reason in sorted(report.failed.items()):
        print(f"failed: {name}: {reason}", file=sys.stderr)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(run(main))
