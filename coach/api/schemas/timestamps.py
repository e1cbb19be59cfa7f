"""How the API writes a moment: ISO 8601 with its UTC offset, as ``datetime.isoformat()`` writes it
(``2026-03-31T08:00:00.123456+00:00``; the history keeps every moment in UTC)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema

#: A moment (UTC), written ``2026-03-31T08:00:00.123456+00:00`` (pydantic alone would write ``Z``: the
#: bodies keep the form they always had).
Timestamp = Annotated[datetime, PlainSerializer(lambda v: v.isoformat(), return_type=str, when_used="json"),
                      WithJsonSchema({"type": "string", "format": "date-time"})]
