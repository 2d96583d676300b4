"""Azure AD sign-in that fails fast, in one line, saying what to do.

DefaultAzureCredential tries several sources (environment, managed identity, the Azure
CLI, ...) and, when all fail, logs a page of text per attempt; the SDK clients then retry
the failing sign-in for a minute or more. One token request up front turns that into one
line; ``verbose`` keeps the SDK's own account of each attempt on stderr.
"""

from __future__ import annotations

import logging
import sys

from yolo3.errors import YoloError

STORAGE_SCOPE = "https://storage.azure.com/.default"
MANAGEMENT_SCOPE = "https://management.azure.com/.default"
HOW_TO_SIGN_IN = ("run `az login`, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and "
                  "AZURE_CLIENT_SECRET for a service principal, or run where a managed "
                  "identity is assigned")


def signed_in_credential(scope: str, verbose: bool = False):
    """A DefaultAzureCredential that has just obtained a token for ``scope``."""
    try:
        from azure.core.exceptions import ClientAuthenticationError
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise YoloError("Azure AD sign-in needs the azure-identity package") from None
    if not verbose:
        logging.getLogger("azure.identity").setLevel(logging.CRITICAL)
    credential = DefaultAzureCredential()
    try:
        credential.get_token(scope)
    except ClientAuthenticationError as error:
        if verbose:
            print(error, file=sys.stderr)
        raise YoloError(f"Azure sign-in failed: {HOW_TO_SIGN_IN}"
                        + ("" if verbose else " (--verbose shows each attempt)")) from None
    return credential
