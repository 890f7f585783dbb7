"""The metrics' targets, apart from the computation (warroom/domain/metrics/report.py).

The room's configuration holds them, and the dashboard reads the configuration before its
first paint; the report (~20 ms of imports) is needed only once the metrics are computed,
after it (issue 15).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from warroom.domain.common.errors import InvalidInput
from warroom.domain.common.timefmt import parse_duration


class MetricTargets(BaseModel):
    """The seed's targets. A config file can override any of them ("45m", "30d", seconds)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    mttd: timedelta = timedelta(minutes=5)
    mtta: timedelta = timedelta(minutes=5)
    mttr: timedelta = timedelta(minutes=30)
    mttf: timedelta = timedelta(hours=720)
    incidents_per_month: float = 10

    @field_validator("mttd", "mtta", "mttr", "mttf", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        if isinstance(v, str) and v.strip() and not v.strip().upper().startswith("P"):
            try:
                return parse_duration(v)
            except InvalidInput as e:  # a ValidationError naming the field, like any other
                raise ValueError(str(e)) from None
        return v

    @field_validator("mttd", "mtta", "mttr", "mttf")
    @classmethod
    def _positive(cls, v: timedelta) -> timedelta:
        if v <= timedelta(0):
            raise ValueError("a target duration must be positive")
        return v

    def seconds(self, key: str) -> float:
        if key == "incidents":
            return float(self.incidents_per_month)
        value: timedelta = getattr(self, key)
        return value.total_seconds()
