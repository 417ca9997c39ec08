"""Requests as JSON: what the shared frontier stores, readable by any later version of sosik.

scrapy-redis pickles requests by default; a pickle ties the queue to the Python and Scrapy
versions that wrote it (scrapy-redis #54, #178) and runs code when read. Here a request is
Scrapy's own `Request.to_dict()` (callbacks by method name) written as JSON, with the few
non-JSON values a request carries tagged: bytes (body, headers), dates and datetimes
(`since`/`until`/`day` in cb_kwargs), tuples, and dicts whose keys are not plain strings.
Anything else is refused at write time (`TypeError` naming the type), never pickled.

The module has `dumps`/`loads`, the serializer interface scrapy-redis's queues take
(`SCHEDULER_SERIALIZER = "crawler.distributed.codec"`). A payload carries its format
version `v`; a reader meets an unknown version as a `ValueError`, which the queue turns into a
failed entry named in the run record instead of a crash.
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime
from typing import Any

VERSION = 1
_TAGS = ("$b", "$date", "$dt", "$t", "$map")


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, datetime):  # before date: a datetime is a date
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, tuple):
        return {"$t": [_encode(v) for v in value]}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {"$map": [[_encode(k), _encode(v)] for k, v in value.items()]}
    raise TypeError(f"cannot store a {type(value).__name__} in the shared frontier: {value!r:.80}")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag == "$b":
            return base64.b64decode(inner)
        if tag == "$dt":
            return datetime.fromisoformat(inner)
        if tag == "$date":
            return date.fromisoformat(inner)
        if tag == "$t":
            return tuple(_decode(v) for v in inner)
        if tag == "$map":
            return {_hashable(_decode(k)): _decode(v) for k, v in inner}
    return {k: _decode(v) for k, v in value.items()}


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def dumps(obj: dict[str, Any]) -> str:
    """A request dict (Scrapy's `Request.to_dict`) as a versioned JSON string."""
    return json.dumps({"v": VERSION, "r": _encode(obj)}, ensure_ascii=False, separators=(",", ":"))


def loads(data: str | bytes) -> dict[str, Any]:
    """The request dict back; ValueError for a payload this version cannot read."""
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    doc = json.loads(data)
    if not isinstance(doc, dict) or doc.get("v") != VERSION or "r" not in doc:
        version = doc.get("v") if isinstance(doc, dict) else None
        raise ValueError(f"unreadable frontier entry (format version {version!r}, want {VERSION})")
    return _decode(doc["r"])


__all__ = ["VERSION", "dumps", "loads"]
