"""The exercise library: read it, and validate a definition before saving it anywhere."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status

from coach.api.deps import current_user, therapist_only
from coach.api.users import Principal
from coach.errors import CoachError

router = APIRouter(prefix="/api/exercises", tags=["exercises"])

#: Largest definition text accepted by /validate.
MAX_DEFINITION_BYTES = 256 * 1024


def _extra_dirs(request: Request):
    return request.app.state.settings.exercise_dirs


def _summary(d) -> dict:
    mv = d.movement
    return {"id": d.id, "name": d.name, "category": d.category, "view": d.view, "version": d.version,
            "description": d.description,
            "counts": "hold" if mv.hold is not None else ("reps per side" if mv.sides == "each" else "reps"),
            "targets": d.targets_dict, "content_hash": d.content_hash}


@router.get("", summary="Every exercise in the library")
def exercises(request: Request, user: Principal = Depends(current_user)) -> list[dict]:
    from coach.exercise_library import list_definitions

    return [_summary(d) for d in list_definitions(_extra_dirs(request))]


@router.get("/{exercise_id}", summary="One exercise: set-up, measures, phases, form rules, targets, YAML")
def exercise(request: Request, exercise_id: str = Path(..., max_length=100),
             user: Principal = Depends(current_user)) -> dict:
    from pathlib import Path as _P

    from coach.exercise_library import get_definition

    try:
        d = get_definition(exercise_id, _extra_dirs(request))
    except CoachError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    out = _summary(d)
    out.update(setup=d.setup, definition=d.model_dump(mode="json", by_alias=True, exclude_none=True))
    try:
        out["yaml"] = _P(d.source).read_text(encoding="utf-8")
    except OSError:
        out["yaml"] = None
    return out


@router.post(
    "/validate", summary="Validate a definition (YAML text) without running it (therapist)",
    openapi_extra={"requestBody": {"required": True, "content": {
        "text/plain": {"schema": {"type": "string"}, "example": "id: squat\nname: Squat\n"}}}},
    responses={200: {"description": "valid is true when problems is empty; each problem has the line "
                                    "(1-based, null when unknown), the field path and a message"},
               413: {"description": "Larger than 256 KiB"}},
)
async def validate(request: Request, user: Principal = Depends(therapist_only)) -> dict:
    """Send the YAML as the request body (text/plain or application/yaml). Answers
    ``{"valid": bool, "id": str|null, "problems": [{"line", "field", "message", "text"}]}``."""
    from coach.exercise_spec import parse_definition_text

    raw = await request.body()
    if len(raw) > MAX_DEFINITION_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            detail=f"a definition is at most {MAX_DEFINITION_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail=f"the body is not UTF-8 text (byte {exc.start})") from None
    import yaml

    try:
        d, problems = parse_definition_text(text, "<posted>")
    except yaml.YAMLError as exc:  # e.g. a control character: the reader fails before the parser
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else _reader_line(text, exc)
        message = f"not readable as YAML: {getattr(exc, 'reason', None) or exc}"
        return {"valid": False, "id": None, "problems": [{"line": line, "field": "", "message": message,
                                                           "text": f"<posted>:{line}: {message}"}]}
    return {"valid": not problems, "id": d.id if d is not None else None,
            "problems": [{"line": p.line, "field": p.field, "message": p.message, "text": str(p)}
                         for p in problems]}


def _reader_line(text: str, exc) -> int | None:
    """The 1-based line of a yaml ReaderError's character position."""
    pos = getattr(exc, "position", None)
    return None if pos is None else text.count("\n", 0, pos) + 1
