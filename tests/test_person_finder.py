"""Finding several people in a still: regions and tiles of the image, duplicates merged, people painted out."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from coach.devtools.person_finder import (SETTINGS, FinderSetting, drop_parts, find_people, merge_duplicates,
                                          painted_out, person_score)
from coach.pose.engine import PeopleArrays, PoseEngine, people_arrays, tile_boxes
from coach.pose.landmarks import N_LANDMARKS, landmark_index


def _body(x0: float, y0: float, size: float, rng) -> np.ndarray:
    return np.array([x0, y0]) + rng.random((N_LANDMARKS, 2)) * size


def test_tiles_cover_the_image_and_overlap_their_neighbours():
    boxes = tile_boxes(640, 480, 2, overlap=0.25)
    assert len(boxes) == 4
    assert min(b[0] for b in boxes) == 0 and max(b[2] for b in boxes) == 640
    assert min(b[1] for b in boxes) == 0 and max(b[3] for b in boxes) == 480
    left, right = boxes[0], boxes[1]
    assert left[2] - right[0] == pytest.approx(0.25 * 320)  # the shared strip: a quarter of a tile
    assert tile_boxes(640, 480, 1) == [(0.0, 0.0, 640.0, 480.0)]


def test_a_person_found_twice_is_kept_once_the_better_seen_copy():
    rng = np.random.default_rng(1)
    a, b = _body(50, 50, 200, rng), _body(400, 60, 150, rng)
    people = PeopleArrays(np.stack([a, b, a + 1.5]),
                          np.stack([np.full(N_LANDMARKS, 0.6), np.full(N_LANDMARKS, 0.9), np.full(N_LANDMARKS, 0.8)]))
    merged = merge_duplicates(people, duplicate_oks=0.5)
    assert len(merged.xy_px) == 2
    assert sorted(np.round(person_score(merged.visibility), 2)) == [0.8, 0.9]  # a's better copy and b


def test_partners_that_overlap_stay_two_people():
    rng = np.random.default_rng(2)
    a = _body(100, 100, 200, rng)
    b = _body(160, 100, 200, rng)  # same place on the picture, a different body
    merged = merge_duplicates(PeopleArrays(np.stack([a, b]), np.full((2, N_LANDMARKS), 0.9)), 0.5)
    assert len(merged.xy_px) == 2


def test_a_small_body_inside_someone_larger_is_dropped_a_neighbour_is_not():
    rng = np.random.default_rng(3)
    big = _body(100, 100, 300, rng)
    legs = _body(180, 300, 80, rng)  # wholly inside big's box, a sixteenth of its area
    neighbour = _body(420, 120, 250, rng)  # beside big, overlapping its edge a little
    people = PeopleArrays(np.stack([legs, big, neighbour]), np.full((3, N_LANDMARKS), 0.9))
    kept = drop_parts(people, inside_share=0.8)
    assert len(kept.xy_px) == 2
    assert np.allclose(kept.xy_px[0], big) and np.allclose(kept.xy_px[1], neighbour)
    assert len(drop_parts(people, inside_share=0.0).xy_px) == 3  # off


@pytest.fixture(scope="module")
def one_person_image(shared_data) -> np.ndarray:
    image = cv2.imread(str(shared_data / "ground_truth" / "tf_examples_pose_truth" / "image1.png"))
    assert image is not None
    return image


def test_a_region_gives_landmarks_in_the_whole_images_pixels(one_person_image, pose_model):
    with PoseEngine(pose_model, mode="image") as engine:
        whole = people_arrays(engine.detect(one_person_image))
        assert len(whole.xy_px) == 1
        lo, hi = whole.xy_px[0].min(axis=0), whole.xy_px[0].max(axis=0)
        margin = 0.3 * (hi - lo)
        region = engine.detect_region(one_person_image, (*(lo - margin), *(hi + margin)))
        assert len(region.xy_px) == 1
        nose = landmark_index("nose")
        height = hi[1] - lo[1]
        # the same person, where the whole image has them (a crop shifts nothing)
        assert np.linalg.norm(region.xy_px[0, nose] - whole.xy_px[0, nose]) < 0.05 * height
        assert np.median(np.linalg.norm(region.xy_px[0] - whole.xy_px[0], axis=1)) < 0.05 * height


def test_a_person_painted_out_is_not_found_again(one_person_image, pose_model):
    with PoseEngine(pose_model, mode="image") as engine:
        found = find_people(engine, one_person_image, SETTINGS["single"])
        assert len(found.xy_px) == 1
        assert people_arrays(engine.detect(painted_out(one_person_image, found))).xy_px.shape[0] == 0


def test_masked_passes_on_one_person_find_one_person(one_person_image, pose_model):
    setting = FinderSetting("test", mask_passes=3, tiles=2, drop_cut=True)
    with PoseEngine(pose_model, mode="image", **setting.engine_options()) as engine:
        assert len(find_people(engine, one_person_image, setting).xy_px) == 1


def test_regions_need_an_image_mode_engine(pose_model):
    with PoseEngine(pose_model, mode="video") as engine:
        with pytest.raises(ValueError, match="image mode"):
            engine.detect_region(np.zeros((64, 64, 3), np.uint8), (0, 0, 64, 64))
