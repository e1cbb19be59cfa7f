"""The exercise library: read it, see which definition files do not load, and validate a definition
before saving it anywhere.

A definition file in the user folder or an extra folder that does not load never breaks the listing:
``GET /api/exercises`` lists the others and counts the broken files in the ``X-Exercise-Problems``
header; ``GET /api/exercises/problems`` (therapists) says what is wrong with each (file name, line,
field, message; never a folder path); ``GET /api/exercises/{id}`` of a broken one answers 422.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from coach.api.deps import current_user, therapist_only
from coach.api.errors import COMMON, responses
from coach.api.schemas.exercises import ExerciseDetailOut, ExerciseOut, LibraryProblemOut, ProblemOut, ValidationOut
from coach.api.users import Principal
from coach.errors import CoachError
from coach.exercise.loader import DefinitionProblem

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/exercises", tags=["exercises"], responses=responses(*COMMON))

#: Largest definition text accepted by /validate.
MAX_DEFINITION_BYTES = 256 * 1024

#: Response header of GET /api/exercises: how many definition files in force do not load (0: none).
PROBLEMS_HEADER = "X-Exercise-Problems"


def _extra_dirs(request: Request):
    return request.app.state.settings.exercise_dirs


@router.get(
    "", summary="Every usable exercise in the library",
    description="The definitions in force (built-in, the user folder, the server's extra folders; a later "
                "one replaces an earlier one with the same id), sorted by id. A definition file that does "
                "not load is left out, and so is its id (it is not replaced by the built-in one); the "
                f"`{PROBLEMS_HEADER}` header counts such files (0 when there are none) and "
                "`GET /api/exercises/problems` (therapists) says what is wrong with each.",
    response_model=list[ExerciseOut],
    responses={200: {"headers": {PROBLEMS_HEADER: {
        "description": "How many definition files in force do not load (their exercises are not listed)",
        "schema": {"type": "integer", "minimum": 0}}}}},
)
def exercises(request: Request, response: Response, user: Principal = Depends(current_user)) -> list[ExerciseOut]:
    from coach.exercise.library import load_library

    definitions, problems = load_library(_extra_dirs(request))
    response.headers[PROBLEMS_HEADER] = str(len(problems))
    response.headers["Access-Control-Expose-Headers"] = PROBLEMS_HEADER  # readable by allowed web origins
    return [ExerciseOut.model_validate(d) for d in definitions]


@router.get(
    "/problems", summary="Definition files that do not load, and why (therapist)",
    description="One item per broken definition file in force, sorted by id: `{id, file, source, overrides, "
                "problems: [{line, field, message, text}]}`. `id` is the exercise it would define (the file "
                "name without .yaml), unavailable until the file is fixed; `file` is the file name only; "
                "`source` is `user` (the user folder), `dir` (an extra folder) or `built-in`; `overrides` "
                "lists the sources of the definitions it replaces (`[\"built-in\"]`: the built-in exercise "
                "of that id is hidden by the broken file); `line` is 1-based or null. An empty list: every "
                "file loads. The problems are those `POST /api/exercises/validate` reports for the file's "
                "text.",
    response_model=list[LibraryProblemOut], responses=responses(403),
)
def problems(request: Request, user: Principal = Depends(therapist_only)) -> list[LibraryProblemOut]:
    from coach.exercise.library import load_library

    return [LibraryProblemOut.of(p) for p in load_library(_extra_dirs(request))[1]]


@router.get(
    "/{exercise_id}", summary="One exercise: set-up, measures, phases, form rules, targets, YAML",
    response_model=ExerciseDetailOut,
    responses={404: {**responses(404)[404], "description": "No exercise with this id (the detail suggests "
                                                           "close ids)"},
               422: {**responses(422)[422], "description": "The definition file for this id does not load: it "
                     "cannot be used until it is fixed. A therapist's detail names the file (no folder), line, "
                     "field and message; see also `GET /api/exercises/problems`"}},
)
def exercise(request: Request, exercise_id: str = Path(..., max_length=100),
             user: Principal = Depends(current_user)) -> ExerciseDetailOut:
    from coach.exercise.library import get_definition

    try:
        d = get_definition(exercise_id, _extra_dirs(request))
    except CoachError as exc:
        raise _unavailable(request, exercise_id, str(exc), user) from None
    return ExerciseDetailOut.of(d)


def _unavailable(request: Request, exercise_id: str, message: str, user: Principal) -> HTTPException:
    """The answer for an id `get_definition` refused: 422 if its file is broken, else 404; the detail
    never holds a folder path."""
    from coach.exercise.library import library_entries, load_entries

    entries = library_entries(_extra_dirs(request))
    broken = next((p for p in load_entries(entries)[1] if p.id == exercise_id), None)
    if broken is None:
        for e in entries.values():  # e.g. "<path>: the file is named for 'x' but its id is 'y'"
            message = message.replace(str(e.path), e.path.name)
        return HTTPException(status.HTTP_404_NOT_FOUND, detail=message)
    detail = f"exercise '{exercise_id}' cannot be used until its definition is fixed"
    if user.role == "therapist":
        first = broken.problems[0]
        more = len(broken.problems) - 1
        detail += (f": {replace(first, path=broken.path.name)}"
                   + (f" (and {more} more; GET /api/exercises/problems lists them)" if more else ""))
    else:
        detail += " (your therapist can see what is wrong)"
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail)


@router.post(
    "/validate", summary="Validate a definition (YAML text) without running it (therapist)",
    response_model=ValidationOut,
    openapi_extra={"requestBody": {"required": True, "content": {
        "text/plain": {"schema": {"type": "string"}, "example": "id: squat\nname: Squat\n"}}}},
    responses={200: {"description": "valid is true when problems is empty; each problem has the line "
                                    "(1-based, null when unknown), the field path and a message"},
               413: {**responses(413)[413], "description": "Larger than 256 KiB"}, **responses(403)},
)
async def validate(request: Request, user: Principal = Depends(therapist_only)) -> ValidationOut:
    """Send the YAML as the request body (text/plain or application/yaml). Answers
    ``{"valid": bool, "id": str|null, "problems": [{"line", "field", "message", "text"}]}``.

    Parsing runs on a worker thread, never in the server's event loop; aliases that would expand past
    10000 values are refused as a problem of the line they are on (``coach.exercise.yaml_source``)."""
    raw = await request.body()
    if not raw.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail="the body is empty: send the definition's YAML text as the request body")
    if len(raw) > MAX_DEFINITION_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            detail=f"a definition is at most {MAX_DEFINITION_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail=f"the body is not UTF-8 text (byte {exc.start})") from None
    return await run_in_threadpool(_validate_text, text)


def _validate_text(text: str) -> ValidationOut:
    """The answer of /validate for a definition text (CPU work: call it on a worker thread)."""
    import yaml

    from coach.exercise.loader import parse_definition_text

    try:
        d, problems = parse_definition_text(text, "<posted>")
    except yaml.YAMLError as exc:  # e.g. a control character: the reader fails before the parser
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else _reader_line(text, exc)
        problems = [DefinitionProblem("<posted>", line, "",
                                      f"not readable as YAML: {getattr(exc, 'reason', None) or exc}")]
        d = None
    except RecursionError:
        problems, d = [DefinitionProblem("<posted>", None, "", "not readable as a definition: nested too deeply")], None
    except Exception as exc:  # a parser failure on odd input is the text's problem (as in the library)
        log.debug("the definition parser failed on a posted text", exc_info=True)
        problems = [DefinitionProblem("<posted>", None, "",
                                      f"not readable as a definition ({type(exc).__name__}: {exc})")]
        d = None
    return ValidationOut(valid=not problems, id=d.id if d is not None else None,
                         problems=[ProblemOut.of(p) for p in problems])


def _reader_line(text: str, exc) -> int | None:
    """The 1-based line of a yaml ReaderError's character position."""
    pos = getattr(exc, "position", None)
    return None if pos is None else text.count("\n", 0, pos) + 1
