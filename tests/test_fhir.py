"""The FHIR export: a Bundle that a maintained FHIR model library accepts, with range of motion in UCUM
degrees at SNOMED CT joint body sites with laterality, rep counts and session periods.

fhir.resources 8 has no R4 package (its default is R5); its R4B models are used: Bundle, Patient,
Observation and BodyStructure have the same elements in R4 and R4B.
"""

from __future__ import annotations

import copy
from collections import Counter

import pytest

from coach.reports.exports import fhir_bundle
from coach.reports.joints import JOINT_CODES, LATERALITY_CODES, SNOMED
from coach.reports.model import build_report
from coach.devtools.synthetic_history import generate_history
from db.engine import close_database, open_database

PATIENT = "fhir-patient"


@pytest.fixture(scope="module")
def bundle_and_history(tmp_path_factory):
    db = tmp_path_factory.mktemp("fhir") / "h.sqlite"
    history = generate_history(db, PATIENT, weeks=2)
    sm = open_database(db)
    try:
        with sm() as s:
            report = build_report(s, PATIENT)
            bundle = fhir_bundle(s, report)
    finally:
        close_database(sm)
    return bundle, history


def _resources(bundle, kind):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_bundle_validates_with_fhir_resources(bundle_and_history):
    from fhir.resources.R4B.bundle import Bundle

    bundle, _ = bundle_and_history
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "collection"
    assert len(parsed.entry) == len(bundle["entry"])
    kinds = Counter(e["resource"]["resourceType"] for e in bundle["entry"])
    assert kinds["Patient"] == 1 and kinds["BodyStructure"] == 3 and kinds["Observation"] > 100


def test_the_validator_does_reject_a_broken_bundle(bundle_and_history):
    from pydantic import ValidationError

    from fhir.resources.R4B.bundle import Bundle

    bundle, _ = bundle_and_history
    broken = copy.deepcopy(bundle)
    obs = next(e["resource"] for e in broken["entry"] if e["resource"]["resourceType"] == "Observation")
    obs["status"] = "finished-ish"  # not a code of the ObservationStatus value set's shape
    obs["valueQuantity"] = {"value": "ninety"}
    with pytest.raises(ValidationError):
        Bundle.model_validate(broken)


def test_range_of_motion_in_ucum_degrees_at_joint_body_sites(bundle_and_history):
    bundle, history = bundle_and_history
    ids = {e["fullUrl"] for e in bundle["entry"]}
    structures = {e["fullUrl"]: e["resource"] for e in bundle["entry"]
                  if e["resource"]["resourceType"] == "BodyStructure"}
    rom = [o for o in _resources(bundle, "Observation") if o["code"]["coding"][0]["code"].startswith("range-of-motion")]
    per_rep = [o for o in rom if o["code"]["coding"][0]["code"] == "range-of-motion-rep"]
    assert len(per_rep) == sum(len(s.rom) for s in history.sessions)
    joints = {code for code, _ in JOINT_CODES.values()}
    sides = Counter()
    for o in rom:
        q = o["valueQuantity"]
        assert (q["system"], q["code"], q["unit"]) == ("http://unitsofmeasure.org", "deg", "deg")
        assert 0 < q["value"] < 180
        site = o["bodySite"]
        assert site["coding"][0]["system"] == SNOMED and site["coding"][0]["code"] in joints
        structure = structures[site["extension"][0]["valueReference"]["reference"]]
        assert structure["location"]["coding"][0]["code"] == site["coding"][0]["code"]
        laterality = structure["locationQualifier"][0]["coding"][0]
        assert laterality["system"] == SNOMED
        assert laterality["code"] in {c for c, _ in LATERALITY_CODES.values()}
        sides[(site["coding"][0]["code"], laterality["code"])] += 1
        assert o["subject"]["reference"] in ids
        assert o["effectivePeriod"]["start"] <= o["effectivePeriod"]["end"]
    # the knee (squat, both legs), the left and the right elbow
    assert set(sides) == {("49076000", "51440002"), ("16953009", "7771000"), ("16953009", "24028007")}
    means = [o for o in rom if o["code"]["coding"][0]["code"] == "range-of-motion-session-mean"]
    for o in means:
        members = {m["reference"] for m in o["hasMember"]}
        assert members and members <= ids


def test_rep_counts_and_session_periods(bundle_and_history):
    bundle, history = bundle_and_history
    counts = {int(o["identifier"][0]["value"]): o for o in _resources(bundle, "Observation")
              if o["code"]["coding"][0]["code"] == "repetitions"}
    assert set(counts) == {s.session_id for s in history.sessions}
    for s in history.sessions:
        o = counts[s.session_id]
        assert o["valueInteger"] == s.reps
        assert o["component"][0]["valueInteger"] == s.target_reps
        assert o["effectivePeriod"]["start"].startswith(s.started_at.date().isoformat())
    pain = [o for o in _resources(bundle, "Observation") if o["code"]["coding"][0].get("code") == "72514-3"]
    assert len(pain) == len(history.sessions)
    patient, = _resources(bundle, "Patient")
    assert patient["name"][0]["text"] == PATIENT
