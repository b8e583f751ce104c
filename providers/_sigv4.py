"""SigV4 signing for the AWS providers (Bedrock, SageMaker): one request, boto3's credential chain.

botocore and boto3 are imported on first use, so a provider configured with another authentication
(a Bedrock API key) never loads them.
"""

from __future__ import annotations

from typing import Any

import httpx

from .errors import ProviderError

__all__ = ["botocore_timeout", "sigv4_signed_headers"]


def sigv4_signed_headers(session: Any, *, service: str, region: str, url: str, body: bytes, headers: dict[str, str],
                         no_credentials: str) -> tuple[Any, dict[str, str]]:
    """(the boto3 session, made when None; `headers` plus the SigV4 ones for a POST of `body` to `url`).

    `no_credentials` is the provider's message when the chain finds none (it says how to configure them).
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    if session is None:
        import boto3

        session = boto3.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise ProviderError(no_credentials)
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), service, region).add_auth(request)
    return session, dict(request.headers.items())


def botocore_timeout(config: Any, read: float, connect: float) -> httpx.Timeout:
    """httpx's timeout from a botocore `Config` (its read and connect timeouts, or the service's defaults)."""
    return httpx.Timeout(getattr(config, "read_timeout", read) or read, connect=getattr(config, "connect_timeout", connect) or connect)
