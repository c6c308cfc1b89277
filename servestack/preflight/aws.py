"""AWS access for preflight: clients from the standard boto3 resolution, and error triage.

Clients come from one :class:`boto3.Session` with nothing overridden but the region (the
stack's ``aws:region``, as Pulumi uses it; without one ``AWS_REGION``, then botocore's own
``AWS_DEFAULT_REGION`` or the profile's region) and timeouts: ``AWS_PROFILE``, the credential
chain, ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>``, retries and CA bundles all
work as in the AWS CLI.

Every AWS error is sorted into one of three kinds:
- AWS is out of reach or refuses the credentials: :class:`AwsUnavailable` (exit 2);
- the API cannot tell (not implemented, e.g. by moto, or access denied): the check is skipped;
- anything else: the check is skipped with the error, never passed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError as BotoConnectionError,
    CredentialRetrievalError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)

#: Error codes with which AWS rejects the caller's credentials (not a permission on one action).
CREDENTIALS_REJECTED = frozenset({
    "AuthFailure", "ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId", "InvalidClientTokenId",
    "InvalidToken", "RequestExpired", "SignatureDoesNotMatch", "UnrecognizedClientException",
})
ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden", "403"})
NOT_IMPLEMENTED = frozenset({
    "NotImplemented", "NotImplementedError", "InvalidAction", "UnknownOperation", "UnknownOperationException",
    "UnsupportedOperation", "501",
})

_CREDENTIALS_HINT = ("set AWS_PROFILE to a profile of ~/.aws/config, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                     "(plus AWS_SESSION_TOKEN for temporary credentials), or run `aws sso login`")


class AwsUnavailable(Exception):
    """AWS cannot be reached or no usable credentials were found: preflight cannot run at all."""


class CannotTell(Exception):
    """The API cannot answer this check; the message says why (the check is reported skipped)."""


def _endpoint_hint() -> str:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    return f" (AWS_ENDPOINT_URL is {endpoint})" if endpoint else ""


def unavailable(error: Exception) -> AwsUnavailable | None:
    """The :class:`AwsUnavailable` that ``error`` means, or None if it is about one check only."""
    if isinstance(error, NoCredentialsError):
        return AwsUnavailable(f"no AWS credentials found: {_CREDENTIALS_HINT}")
    if isinstance(error, PartialCredentialsError):
        return AwsUnavailable(f"incomplete AWS credentials ({error}): {_CREDENTIALS_HINT}")
    if isinstance(error, ProfileNotFound):
        return AwsUnavailable(f"{error}: set AWS_PROFILE to a profile that ~/.aws/config defines, or unset it")
    if isinstance(error, (CredentialRetrievalError, TokenRetrievalError, SSOError)):
        return AwsUnavailable(f"AWS credentials could not be loaded ({error}): {_CREDENTIALS_HINT}")
    if isinstance(error, NoRegionError):
        return AwsUnavailable("no AWS region: the plan has no aws:region and neither AWS_REGION nor the profile names one")
    if isinstance(error, BotoConnectionError):
        return AwsUnavailable(f"cannot reach AWS: {error}{_endpoint_hint()}")
    if isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in CREDENTIALS_REJECTED:
        code = error.response["Error"]["Code"]
        return AwsUnavailable(f"AWS rejected the credentials ({code}: {error.response['Error'].get('Message', '')}): "
                              f"{_CREDENTIALS_HINT}")
    return None


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_not_implemented(error: Exception) -> bool:
    if isinstance(error, NotImplementedError):
        return True
    if isinstance(error, ClientError):
        code = error_code(error)
        message = str(error.response.get("Error", {}).get("Message", "")).lower()
        # A bare HTTP status as the code: the endpoint answered without an AWS error document (a
        # mock server's "404 Not Found" page for a route it lacks); AWS itself always names the error.
        bare_status = code.isdigit() and code not in ACCESS_DENIED
        return code in NOT_IMPLEMENTED or bare_status or "not yet implemented" in message or "not implemented" in message
    return False


def cannot_tell(error: Exception, action: str) -> CannotTell:
    """Why ``action`` (``ec2:DescribeInstanceTypeOfferings``) could not answer, as a skip reason."""
    if is_not_implemented(error):
        return CannotTell(f"the AWS endpoint does not implement {action}")
    if isinstance(error, ClientError) and error_code(error) in ACCESS_DENIED:
        return CannotTell(f"access denied to {action}: grant it to the credentials preflight runs with")
    return CannotTell(f"{action} failed: {' '.join(str(error).split())[:300]}")


def call(action: str, function: Callable[..., Any], **kwargs: Any) -> Any:
    """Call one AWS operation; raise AwsUnavailable or CannotTell for what the caller cannot handle.

    ClientErrors that a check interprets (NoSuchBucket ...) are re-raised as they are when the
    caller lists their codes in ``expected``.
    """
    expected = kwargs.pop("expected", ())
    try:
        return function(**kwargs)
    except ClientError as error:
        if (fatal := unavailable(error)) is not None:
            raise fatal from None
        if error_code(error) in expected:
            raise
        raise cannot_tell(error, action) from None
    except NotImplementedError as error:
        raise cannot_tell(error, action) from None
    except BotoCoreError as error:
        if (fatal := unavailable(error)) is not None:
            raise fatal from None
        raise cannot_tell(error, action) from None


class AwsClients:
    """Clients of one session in one region, created on first use.

    ``overrides`` maps a service name to a ready client: the seam through which tests put a
    botocore ``Stubber`` in front of an API that moto does not implement.
    """

    def __init__(self, region: str | None = None, session: boto3.Session | None = None,
                 overrides: dict[str, Any] | None = None):
        try:
            self.session = session or boto3.Session()
        except BotoCoreError as error:  # ProfileNotFound for a bad AWS_PROFILE
            raise unavailable(error) or AwsUnavailable(str(error)) from None
        # The stack's aws:region first (what Pulumi deploys to); then AWS_REGION, which the AWS CLI v2
        # and Pulumi read but botocore does not; then botocore's AWS_DEFAULT_REGION or profile region.
        self.region = region or os.environ.get("AWS_REGION") or self.session.region_name
        if not self.region:
            raise unavailable(NoRegionError())  # type: ignore[misc]
        self._clients: dict[str, Any] = dict(overrides or {})
        self._config = Config(region_name=self.region, connect_timeout=10, read_timeout=30,
                              user_agent_extra="servestack-preflight")

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            try:
                self._clients[service] = self.session.client(service, config=self._config)
            except BotoCoreError as error:
                raise unavailable(error) or AwsUnavailable(str(error)) from None
        return self._clients[service]

    def account(self) -> str:
        """The caller's account id; proves that credentials exist and AWS answers."""
        try:
            if self.session.get_credentials() is None:
                raise unavailable(NoCredentialsError())  # type: ignore[misc]
        except BotoCoreError as error:
            raise unavailable(error) or AwsUnavailable(str(error)) from None
        try:
            return call("sts:GetCallerIdentity", self("sts").get_caller_identity)["Account"]
        except CannotTell as error:
            # Some endpoints (LocalStack-likes) lack STS; the checks themselves still prove access.
            return f"unknown ({error})"
