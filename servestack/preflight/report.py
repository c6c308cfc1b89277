"""Results of preflight checks: one :class:`Result` per check and subject, gathered in a :class:`Report`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class Status(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    """Worth knowing, does not fail preflight (a version in extended support)."""
    SKIP = "skip"
    """The API could not tell (not implemented, access denied, nothing to check): never a pass."""


@dataclass(frozen=True)
class Result:
    check: str
    """Stable id of the check: ``s3-artifact``, ``ec2-zone-offering`` ..."""
    subject: str
    """What the result is about: ``endpoint iris (stable)``, ``pool gpu``, ``cluster``."""
    status: Status
    message: str
    """What was found; for a failure, what is wrong."""
    fix: str = ""
    """How to fix a failure (empty otherwise)."""

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status.value}


@dataclass
class Report:
    stack: str
    region: str
    account: str
    results: list[Result] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {status.value: sum(1 for r in self.results if r.status is status) for status in Status}

    @property
    def ok(self) -> bool:
        return not any(r.status is Status.FAIL for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "region": self.region,
            "account": self.account,
            "ok": self.ok,
            "summary": self.counts(),
            "results": [r.to_json() for r in self.results],
        }
