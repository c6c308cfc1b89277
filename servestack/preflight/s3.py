"""Model artifacts on S3: present, not empty, and pinned to a version.

Presence follows what KServe's storage initializer does with an ``s3://bucket/path`` URI: it
lists every object under the prefix ``path`` and downloads the non-empty ones that are not
folder markers (keys ending in ``/``), failing with "No model found" when there are none.
So an artifact passes when the object of exactly that key, or at least one such object under
``path/``, exists. KServe's plain prefix would also pick up a sibling (``.../2.5-1.5b-instruct-old/``
for ``.../2.5-1.5b-instruct``): that is another model, so preflight never counts it.

Pinned ("immutable version") means one of:
- the bucket has versioning ``Enabled``, so an overwritten model can be recovered and every
  upload is a distinct object version; or
- the URI names a version path segment: a segment of the key that is a version number
  (``3``, ``v3``, ``1.2.0``, ``v1.2.0``), a date stamp (``20260501``) or a digest
  (40 to 64 hex digits, optionally prefixed ``sha256-`` or ``sha256:``) -- the convention of
  publishing each model version under a prefix of its own, as ``s3://models/iris/v3/``.

A ``?versionId=`` query does not pin anything: KServe's storage initializer takes only the
URI's path (``urlparse(uri).path``) and downloads the latest objects, so such a URI is
reported as a failure instead of being trusted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from plandoc.models import ModelUri

from .aws import AwsClients, CannotTell, call
from .hf import check_hf_pin
from .report import Result, Status

#: A key segment that names a model version (see the module docstring).
VERSION_SEGMENT = re.compile(r"^(v?\d+(\.\d+)*|(sha256[-:])?[0-9a-f]{40,64})$")
_MISSING_BUCKET = ("NoSuchBucket",)


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str
    query: str


def parse_s3_uri(uri: str) -> S3Location | None:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        return None
    return S3Location(parsed.netloc, parsed.path.lstrip("/"), parsed.query)


def version_segment(key: str) -> str | None:
    """The first key segment that names a version (``v3``), or None."""
    return next((segment for segment in key.split("/") if VERSION_SEGMENT.match(segment)), None)


class _Buckets:
    """Per-bucket answers, asked once however many endpoints share a bucket."""

    def __init__(self, clients: AwsClients):
        self.s3 = clients("s3")
        self._versioning: dict[str, str | CannotTell | None] = {}

    def versioning(self, bucket: str) -> str | None:
        """``Enabled``, ``Suspended``, None (never enabled); raises CannotTell, or NoSuchBucket as ClientError."""
        if bucket not in self._versioning:
            try:
                answer = call("s3:GetBucketVersioning", self.s3.get_bucket_versioning, Bucket=bucket, expected=_MISSING_BUCKET)
                self._versioning[bucket] = answer.get("Status")
            except CannotTell as error:
                self._versioning[bucket] = error
            except ClientError:  # NoSuchBucket: the artifact check says so
                self._versioning[bucket] = CannotTell(f"bucket {bucket} does not exist")
        value = self._versioning[bucket]
        if isinstance(value, CannotTell):
            raise value
        return value


def _artifact(model: ModelUri, where: S3Location, buckets: _Buckets) -> Result:
    check, subject = "s3-artifact", model.subject
    config_hint = f"correct the storageUri ({model.sources[0]})"
    paginator = buckets.s3.get_paginator("list_objects_v2")
    seen = empty = 0
    try:
        pages = call("s3:ListBucket", lambda: list(_pages(paginator, where)), expected=_MISSING_BUCKET)
    except CannotTell as error:
        return Result(check, subject, Status.SKIP, f"cannot tell whether {model.uri} exists: {error}")
    except ClientError:  # NoSuchBucket
        return Result(check, subject, Status.FAIL, f"bucket {where.bucket} of {model.uri} does not exist",
                      f"create the bucket and upload the model, or {config_hint}")
    for page in pages:
        for obj in page.get("Contents", []):
            seen += 1
            if obj["Key"].endswith("/") or obj["Size"] == 0:
                empty += 1
                continue
            what = "object" if obj["Key"] == where.key else f"objects under the prefix, e.g. {obj['Key']}"
            return Result(check, subject, Status.PASS, f"{model.uri} has non-empty {what} ({obj['Size']} bytes)")
    if seen:
        return Result(check, subject, Status.FAIL,
                      f"{model.uri} holds only empty objects or folder markers ({empty}); KServe skips them and the "
                      "predictor fails with 'No model found'",
                      f"upload the model files (aws s3 cp --recursive <model dir> {model.uri.split('?')[0]}), or {config_hint}")
    return Result(check, subject, Status.FAIL, f"nothing at {model.uri}: no object with that key and none under {_under(where)}",
                  f"upload the model (aws s3 cp --recursive <model dir> {model.uri.split('?')[0]}), or {config_hint}")


def _under(where: S3Location) -> str:
    return "that prefix" if not where.key or where.key.endswith("/") else f"s3://{where.bucket}/{where.key}/"


def _pages(paginator, where: S3Location):
    """The listing pages of what the URI names: the object of exactly that key, then what lies under
    ``key/``. Listing ``key`` alone would also match siblings (``chat/2.5-1.5b-instruct-old/...`` for
    ``chat/2.5-1.5b-instruct``), which are another model, not this one."""
    if where.key and not where.key.endswith("/"):
        # The exact key sorts first among the keys it prefixes: one key tells whether it exists.
        for page in paginator.paginate(Bucket=where.bucket, Prefix=where.key, PaginationConfig={"MaxItems": 1}):
            exact = [o for o in page.get("Contents", []) if o["Key"] == where.key]
            yield {**page, "Contents": exact}
            if any(o["Size"] > 0 for o in exact):
                return
    prefix = where.key if not where.key or where.key.endswith("/") else where.key + "/"
    # Stop at the first page that has a usable object: a model prefix may hold thousands of files.
    for page in paginator.paginate(Bucket=where.bucket, Prefix=prefix, PaginationConfig={"PageSize": 1000}):
        yield page
        if any(not o["Key"].endswith("/") and o["Size"] > 0 for o in page.get("Contents", [])):
            return


def _pinned(model: ModelUri, where: S3Location, buckets: _Buckets) -> Result:
    check, subject = "s3-pinned", model.subject
    if where.query:
        return Result(check, subject, Status.FAIL,
                      f"{model.uri} carries a query ({where.query}) that KServe's storage initializer ignores: it "
                      "downloads the latest objects under the path, so the URI pins nothing",
                      "drop the query and publish each model version under its own prefix (s3://bucket/model/v3/), "
                      f"or enable versioning on bucket {where.bucket}")
    segment = version_segment(where.key)
    if segment:
        return Result(check, subject, Status.PASS, f"{model.uri} names the version segment {segment!r}")
    try:
        status = buckets.versioning(where.bucket)
    except CannotTell as error:
        return Result(check, subject, Status.SKIP, f"cannot tell whether bucket {where.bucket} is versioned: {error}")
    if status == "Enabled":
        return Result(check, subject, Status.PASS, f"bucket {where.bucket} has versioning enabled")
    state = "suspended" if status == "Suspended" else "never enabled"
    return Result(check, subject, Status.FAIL,
                  f"{model.uri} names no version and versioning of bucket {where.bucket} is {state}: the model can be "
                  "overwritten in place, so what serves is not what was reviewed",
                  f"enable versioning (aws s3api put-bucket-versioning --bucket {where.bucket} "
                  "--versioning-configuration Status=Enabled) or publish each model version under its own prefix "
                  "(s3://bucket/model/v3/)")


def check_models(models: list[ModelUri], clients: AwsClients) -> list[Result]:
    results = []
    buckets: _Buckets | None = None
    for model in models:
        try:
            where = parse_s3_uri(model.uri)
        except ValueError as error:  # urlparse, as KServe's storage initializer: "s3://models[/x" (Invalid IPv6 URL)
            results.append(Result("s3-artifact", model.subject, Status.FAIL, f"{model.uri} is not a valid URI: {error}",
                                  f"correct the storageUri ({model.sources[0]})"))
            continue
        if where is None and model.uri.startswith("hf://"):
            results.append(check_hf_pin(model))
            continue
        if where is None:
            scheme = model.uri.split("://", 1)[0] if "://" in model.uri else model.uri
            results.append(Result("s3-artifact", model.subject, Status.SKIP,
                                  f"{model.uri} is not an s3:// URI ({scheme}); preflight checks S3 artifacts only"))
            continue
        buckets = buckets or _Buckets(clients)
        results.append(_artifact(model, where, buckets))
        results.append(_pinned(model, where, buckets))
    return results
