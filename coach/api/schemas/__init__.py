"""The bodies the HTTP API answers, one pydantic model per resource, declared once and used as the routes'
``response_model`` (so ``/openapi.json`` documents every body):

- ``records``: what the counting engine records, as JSON — a rep, a form fault, a hold, a time not
  measurable (the keys of ``coach.engine.events``' ``to_dict()``; the one rep shape of the API);
- ``workout``: the result of a workout (``coach workout --json``; an analysis job's ``result``);
- ``sessions``: the history's sessions, their sets, notes and totals (``coach sessions show --json``);
- ``patients``: the caller, patients, prescriptions;
- ``exercises``: the library, its broken definition files, a definition's validation;
- ``jobs``: video analysis jobs;
- ``reports``: the summary table and the JSON progress report;
- ``timestamps``: how moments are written (ISO 8601 with the UTC offset).

Models read ORM rows and dataclasses directly (``from_attributes=True``); units are in the field names and
descriptions (``_s``: seconds of the source's own clock; angles in degrees, other measures in their unit).
"""
