"""What every part of the training metadata shares: a frozen record that refuses unknown fields,
and the field types the records use."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def iso_timestamp(text: str) -> str:
    pd.Timestamp(text)  # raises ValueError on anything that is not a timestamp
    return text


Timestamp = Annotated[str, AfterValidator(iso_timestamp)]
Sha256 = Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]
Share = Annotated[float, Field(ge=0.0, le=1.0)]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_dict(self) -> dict:
        """JSON-ready: undefined metrics (NaN) become null, as JSON has no NaN."""
        return self.model_dump(mode="json")
