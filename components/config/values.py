"""Checks of single values in endpoint settings: Kubernetes quantities, image pins, storage URIs
and KMS key ARNs.

Each ``checked_*`` function returns the value or raises :class:`ValueError` with what is allowed
(pydantic turns that into a finding at the field's path); each ``*_problem`` function says why a
value is refused, or None. The endpoint schema (:mod:`.endpoints`) calls them from its field
validators.
"""

from __future__ import annotations

import re
from decimal import Decimal

from ..core.iam import KMS_KEY_ARN
from ..core.images import ImagePin, image_pin
from ..core.labels import LABEL_VALUE  # noqa: F401  (re-exported)

STORAGE_SCHEMES = ("s3://", "oci://", "hf://", "pvc://", "gs://", "https://", "hdfs://", "webhdfs://")

_CPU = re.compile(r"^([0-9]+m|[0-9]+(\.[0-9]{1,3})?)$")
_MEMORY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_MEMORY_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
                 "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
#: A Kubernetes label value (model versions are written into labels).
#: An environment variable name.
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def cpu_millis(quantity: str) -> int:
    """``"500m"`` -> 500, ``"2"`` -> 2000 (a quantity already checked by the pattern)."""
    return int(quantity[:-1]) if quantity.endswith("m") else int(Decimal(quantity) * 1000)


def memory_bytes(quantity: str) -> int:
    match = re.match(r"^([0-9.]+)([A-Za-z]*)$", quantity)
    assert match, quantity
    return int(Decimal(match.group(1)) * _MEMORY_UNITS[match.group(2)])


def checked_cpu(value: str | None) -> str | None:
    if value is not None and not _CPU.match(value):
        raise ValueError("must be a CPU quantity such as 500m or 2")
    return value


def checked_memory(value: str | None) -> str | None:
    if value is not None and not _MEMORY.match(value):
        raise ValueError("must be a memory quantity such as 512Mi or 4Gi")
    return value


def image_pin_problem(image: str) -> str | None:
    """Why ``image`` is not pinned (None when it is): a tag other than ``latest``, or a digest."""
    return {
        ImagePin.PINNED: None,
        ImagePin.BAD_DIGEST: "must pin a digest of the form @sha256:<64 hex digits>",
        ImagePin.UNTAGGED: "must be pinned by a tag or digest (repository:1.2.3 or repository@sha256:...); an untagged image floats",
        ImagePin.LATEST: "must not use the tag latest, which floats; pin a version tag or a digest",
    }[image_pin(image)]


def checked_image(image: str) -> str:
    problem = image_pin_problem(image)
    if problem:
        raise ValueError(problem)
    return image




def checked_kms_key_arn(value: str | None) -> str | None:
    if value is not None and not KMS_KEY_ARN.fullmatch(value):
        raise ValueError("must be the full ARN of a KMS key, arn:aws:kms:<region>:<account>:key/<key id> (not an "
                         "alias: IAM authorizes kms:Decrypt by the key's ARN)")
    return value


#: A full Git commit id: the only Hugging Face revision that cannot move (branches and tags can).
_HF_COMMIT = re.compile(r"[0-9a-f]{40}")


def hf_uri_problem(uri: str) -> str | None:
    """Why an ``hf://`` URI is not pinned (None when it is).

    KServe's storage initializer reads ``hf://<org>/<model>[:<revision>]`` (exactly one ``/``; the
    revision after ``:`` goes to ``snapshot_download(revision=...)``) and, without a revision,
    downloads whatever the main branch holds when each pod starts.
    """
    repository, colon, revision = uri.removeprefix("hf://").partition(":")
    parts = repository.split("/")
    if len(parts) != 2 or not all(parts):
        return "must be hf://<org>/<model>:<commit hash> (KServe's Hugging Face syntax: one '/' between organization and model)"
    if not colon or not revision:
        return ("must pin a revision, hf://<org>/<model>:<commit hash>: without one KServe downloads whatever the "
                "repository's main branch holds when each pod starts, so replicas of one version can serve different weights")
    if not _HF_COMMIT.fullmatch(revision):
        return ("must pin the revision by its full 40-character commit hash (hf://<org>/<model>:<commit hash>); "
                "a branch or tag name can move")
    return None


def checked_storage_uri(value: str | None) -> str | None:
    """A storage URI of a known scheme; an S3 one names a bucket and a model prefix inside it, an
    ``hf://`` one a commit of a Hugging Face repository."""
    if value is None:
        return value
    if not value.startswith(STORAGE_SCHEMES):
        raise ValueError(f"must start with one of {', '.join(STORAGE_SCHEMES)}")
    if value.startswith("https://") and not re.fullmatch(r"https://[A-Za-z0-9.-]+(:[0-9]+)?/[^\s]+", value):
        raise ValueError("must be https://<host>/<path> of the model file or archive")
    if value.startswith("hf://"):
        problem = hf_uri_problem(value)
        if problem:
            raise ValueError(problem)
    if value.startswith("s3://"):
        bucket, _, key = value.removeprefix("s3://").partition("/")
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
            raise ValueError("must name a valid S3 bucket (s3://bucket/prefix/...)")
        if "/" not in key.strip("/"):
            raise ValueError("must name a model under a prefix (s3://bucket/models/<model>/<version>): "
                             "the endpoint may read only that prefix, never a whole bucket")
    return value
