"""The API's error answers: one body for every refusal, declared in the OpenAPI schema.

Every 4xx and 503 answer is ``{"detail": "<one sentence>"}`` (:class:`ErrorOut`); a request that does
not fit the schema (422) adds ``errors``: one ``{loc, msg, type}`` per field at fault. The request's
values are never echoed back: a body may hold what JSON cannot carry (``NaN``) or megabytes of text.

- 400: the body is not what its Content-Type says (JSON that does not parse, a broken multipart form)
- 401: no token, or an unknown, expired or revoked one (with ``WWW-Authenticate: Bearer``)
- 403: the caller's role may not do this
- 404: no such patient, session, prescription, job or exercise *that the caller may see*
- 409: a new patient's name is in use
- 413: the body is larger than the limit
- 415: an upload that is neither a video nor a keypoint recording
- 422: the request does not fit the schema, or breaks a rule the schema cannot state (an unknown exercise
  id, ``to`` before ``from``, a date outside 2000–2099, a name that is not printable)
- 503: the server cannot do it now (busy with reports, shutting down, its history read-only); try again
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field


class FieldErrorOut(BaseModel):
    """One field of the request that does not fit the schema."""

    loc: list[str | int] = Field(..., description="Where: body, query, path or header, then the field.")
    msg: str = Field(..., description="What is wrong with it.")
    type: str = Field(..., description="pydantic's error type, e.g. missing, date_from_datetime_parsing.")


class ErrorOut(BaseModel):
    """A refusal: one sentence saying what is wrong (and, for a request that does not fit the schema,
    each field at fault)."""

    detail: str = Field(..., description="What is wrong, in one sentence.")
    errors: list[FieldErrorOut] | None = Field(None, description="422 for a request that does not fit the "
                                                                 "schema: each field at fault.")


_DESCRIPTIONS = {
    400: "The body cannot be read as its Content-Type says",
    401: "No token, or an unknown, expired or revoked one",
    403: "The caller's role may not do this",
    404: "Not found among what the caller may see",
    409: "The name is in use",
    413: "The body is larger than the limit",
    415: "Neither a video nor a keypoint recording",
    422: "The request does not fit the schema, or breaks a rule the schema cannot state",
    503: "The server cannot do this now (busy, shutting down, or its history is read-only); try again later",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: these statuses with :class:`ErrorOut` bodies."""
    return {code: {"model": ErrorOut, "description": _DESCRIPTIONS[code]} for code in codes}


#: What every /api operation may answer besides its success: no or a bad token, a request that does not
#: fit, the server unable to answer now.
COMMON = (401, 422, 503)


def _where(loc: Iterable[str | int]) -> str:
    parts = list(loc)
    if not parts:
        return "the request"
    kind, rest = parts[0], parts[1:]
    name = ".".join(str(p) for p in rest)
    if kind == "body":
        return f"body field {name!r}" if name else "the body"
    if kind in ("query", "path", "header", "cookie"):
        return f"{kind} parameter {name!r}"
    return ".".join(str(p) for p in parts)


def _clean(error: dict) -> dict:
    return {"loc": [p if isinstance(p, (str, int)) else str(p) for p in error.get("loc", ())],
            "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))}


def validation_sentence(errors: list[dict]) -> str:
    """The first field at fault as a sentence, e.g. "query parameter 'to': Input should be a valid date"."""
    if not errors:
        return "the request does not fit the schema"
    first = errors[0]
    more = len(errors) - 1
    msg = str(first.get("msg", "")).removeprefix("Value error, ")
    return f"{_where(first.get('loc', ()))}: {msg}" + (f" (and {more} more)" if more else "")


async def request_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 for a request that does not fit the schema, without echoing its values."""
    errors = [_clean(e) for e in exc.errors()]
    return JSONResponse({"detail": validation_sentence(exc.errors()), "errors": errors}, status_code=422)


def safe_text(value: Any) -> Any:
    """``value`` with every string made encodable as UTF-8: a lone surrogate (from a YAML escape such as
    ``"\\udb53"``, or a path that was not UTF-8) becomes ``\\udb53`` text instead of failing the answer."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {safe_text(k): safe_text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [safe_text(v) for v in value]
    return value


def _allowed_methods(request: Request) -> list[str]:
    """Every method the OpenAPI schema documents at this path (for the ``Allow`` header of a 405: the
    router names only those of the first route whose path matched)."""
    path = request.scope.get("path", "")
    paths = request.app.openapi().get("paths", {})

    def names(operations) -> set[str]:
        return {m.upper() for m in operations if m in ("get", "post", "put", "patch", "delete")}

    if path in paths:  # a path of its own (/api/exercises/validate), not a value of /api/exercises/{id}
        return sorted(names(paths[path]))
    methods: set[str] = set()
    for template, operations in paths.items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            methods |= names(operations)
    return sorted(methods)


async def http_error(request: Request, exc) -> JSONResponse:
    """An ``HTTPException`` as :class:`ErrorOut`, its text made encodable; a 405 lists in ``Allow`` every
    method the path answers (not only those of the first route that matched it)."""
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request)) or headers.get("Allow", "")
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return JSONResponse({"detail": safe_text(detail)}, status_code=exc.status_code, headers=headers)
