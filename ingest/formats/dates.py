"""One place that reads publication dates, in French and English, keeping the time zone when
the source gives one. Relative dates ("hier soir", "2 hours ago") are refused on purpose: they
depend on when the page was saved, which an archive does not know."""

from __future__ import annotations

import re
import time as _time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

from dateparser.date import DateDataParser

from ingest.formats.base import Precision

_PARSER = DateDataParser(
    languages=["fr", "en"],
    settings={
        # no "relative-time": a date must not depend on the day it is read
        "PARSERS": ["custom-formats", "absolute-time"],
        "REQUIRE_PARTS": ["day", "month", "year"],
        "RETURN_TIME_AS_PERIOD": True,
        "DATE_ORDER": "DMY",
    },
)
# Labels that pages and exports put before a date.
_LABEL = re.compile(
    r"^\s*(?:(?:publi[ée]+|mis\s+[àa]\s+jour|modifi[ée]+|posted|published|updated|date)"
    r"\s*(?:le|on|:)?\s*:?\s*|le\s+)",
    re.IGNORECASE,
)
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_SECONDS = re.compile(r"\d{1,2}:\d{2}:\d{2}")
_NUMBER = re.compile(r"^\d{9,13}(?:\.\d+)?$")


@dataclass(frozen=True)
class DateReading:
    value: datetime | None
    precision: Precision = ""
    warning: str = ""  # set when the value could not be read


def _time_precision(text: str, value: datetime) -> Precision:
    return "second" if _SECONDS.search(text) or value.second else "minute"


def _from_epoch(seconds: float) -> DateReading:
    if seconds > 1e11:  # milliseconds, as JavaScript exports write them
        seconds /= 1000
    return DateReading(datetime.fromtimestamp(seconds, UTC), "second")


def read_date(value: object, what: str = "date") -> DateReading:
    """Read `value` (a string, a datetime, a date, a struct_time or epoch seconds/milliseconds)
    as a publication date. Unreadable or absent: no value, and a warning naming `what` when
    something was given."""
    if value is None or value == "":
        return DateReading(None)
    if isinstance(value, datetime):
        return DateReading(value, "second" if value.second else "minute")
    if isinstance(value, date):
        return DateReading(datetime(value.year, value.month, value.day), "day")
    if isinstance(value, _time.struct_time):  # feedparser's parsed dates are in UTC
        return DateReading(datetime(*value[:6], tzinfo=UTC), "second")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        return DateReading(None, warning=f"{what} {value!r} is not a date: kept without a date")
    text = " ".join(value.split())
    if _NUMBER.match(text):
        return _from_epoch(float(text))
    reading = _read_text(text) or _read_text(_LABEL.sub("", text))
    if reading:
        return reading
    return DateReading(None, warning=f"{what} {value!r} could not be read: kept without a date")


def _read_text(text: str) -> DateReading | None:
    if _ISO_DAY.match(text):
        try:
            return DateReading(datetime.fromisoformat(text), "day")
        except ValueError:
            return None
    if _ISO.match(text):
        try:
            value = datetime.fromisoformat(text)
            return DateReading(value, _time_precision(text, value))
        except ValueError:
            pass
    if "," in text[:5] and text[:3].isalpha():  # RFC 2822, as RSS writes it
        try:
            value = parsedate_to_datetime(text)
            return DateReading(value, _time_precision(text, value))
        except (TypeError, ValueError):
            pass
    data = _PARSER.get_date_data(text)
    if data.date_obj is None:
        return None
    if data.period == "day":
        day = data.date_obj
        return DateReading(datetime(day.year, day.month, day.day), "day")
    return DateReading(data.date_obj, _time_precision(text, data.date_obj))
