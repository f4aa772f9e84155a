from pathlib import Path

import numpy as np

from readers import CelebA, DataPaths, read_mtfl_list
from readers.celeba import ALIGNED_CELEBA_POINTS, aligned_points
from readers.faces_extra import read_faces_extra
from readers.mtfl import mtfl_points
from training.faces import VALIDATION_PHOTOS, all_training_faces, held_out_rows, validation_people, validation_sets


def test_shared_celeba_tables_match_the_data_readme(data_root: Path) -> None:
    celeba = DataPaths.from_root(data_root).celeba
    assert len(celeba.partitions) == 6300
    assert len(celeba.image_ids("train")) == 5048
    assert len(celeba.image_ids("test")) == 1252
    assert len(celeba.boxes) == 6262
    assert list(celeba.boxes.columns) == ["x_1", "y_1", "width", "height"]
    assert celeba.landmarks.shape == (6262, 10)
    assert len(celeba.faces_all) == 6557
    assert celeba.identities.nunique() == 299
    train_ids = set(celeba.identities[celeba.image_ids("train")])
    test_ids = set(celeba.identities[celeba.image_ids("test")])
    assert not train_ids & test_ids


def test_landmark_row_is_five_points_in_celeba_order(data_root: Path) -> None:
    celeba = DataPaths.from_root(data_root).celeba
    points = celeba.landmark_array("000093.jpg")
    assert points.shape == (5, 2)
    np.testing.assert_allclose(points[0], [122, 46])
    assert points[0, 0] < points[1, 0]  # the left eye is on the image's left


def test_aligned_subset_and_mtfl(data_root: Path) -> None:
    paths = DataPaths.from_root(data_root)
    assert len(paths.celeba_align.image_ids("train", images="align")) == 10000
    train = read_mtfl_list(paths.mtfl / "list_landmarks_train.txt")
    test = read_mtfl_list(paths.mtfl / "list_landmarks_test.txt")
    assert (len(train), len(test)) == (10000, 2995)
    assert mtfl_points(test).shape == (2995, 5, 2)
    assert (paths.mtfl / test.path.iloc[0]).is_file()


def test_official_layout_is_read_unchanged(tmp_path: Path) -> None:
    """The full CelebA download: headerless identity/partition files, count+header lists, aligned landmarks."""
    (tmp_path / "Anno").mkdir()
    (tmp_path / "Eval").mkdir()
    (tmp_path / "img_align_celeba").mkdir()
    (tmp_path / "img_align_celeba" / "000001.jpg").write_bytes(b"")
    (tmp_path / "Eval" / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg 2\n")
    (tmp_path / "Anno" / "identity_CelebA.txt").write_text("000001.jpg 2880\n000002.jpg 2937\n")
    (tmp_path / "Anno" / "list_landmarks_align_celeba.txt").write_text(
        "2\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y\n"
        "000001.jpg    69  109  106  113   77  142   73  152  108  154\n"
        "000002.jpg    69  110  107  112   81  135   70  151  108  153\n"
    )
    (tmp_path / "Anno" / "list_bbox_celeba.txt").write_text(
        "2\nimage_id x_1 y_1 width height\n000001.jpg    95  71 226 313\n000002.jpg    72  94 221 306\n"
    )
    celeba = CelebA(tmp_path)
    assert celeba.identities["000002.jpg"] == 2937
    assert celeba.image_ids("train", images="align") == ["000001.jpg"]
    assert celeba.boxes.loc["000001.jpg", "height"] == 313
    np.testing.assert_allclose(aligned_points(celeba, "000001.jpg", 178)[2], [77, 142])
    # Without the official list (the half-size subset) the mean points, scaled to the photo, are used.
    np.testing.assert_allclose(aligned_points(CelebA(tmp_path / "missing"), "x.jpg", 89), ALIGNED_CELEBA_POINTS / 2)


def test_faces_extra_matches_its_readme(data_root: Path) -> None:
    faces = read_faces_extra(DataPaths.from_root(data_root).faces_extra)
    assert len(faces) == 49_690
    named = faces[faces.identity != ""]
    assert len(named) == 13_374 and named.identity.nunique() == 880
    assert faces.points.iloc[0].shape == (5, 2)
    assert faces.points.iloc[0][0, 0] < faces.points.iloc[0][1, 0]  # CelebA order: the image's left eye first


def test_embedder_validation_people_are_whole_identities_never_trained_on(data_root: Path) -> None:
    faces = all_training_faces(DataPaths.from_root(data_root))
    assert len(faces) == 64_713 and faces.key.is_unique
    people = validation_people(faces)
    assert {name: len(group) for name, group in people.items()} == {"wild": 60, "named": 150}
    assert all(identity.startswith("celeba/") for identity in people["wild"])
    held_out = held_out_rows(faces)
    assert set(faces.identity[held_out]) == people["wild"] | people["named"]  # every photo of each person
    sets = validation_sets(faces)
    assert (faces.source.iloc[sets["wild"]] == "wild").all()
    assert faces.identity.iloc[sets["named"]].value_counts().max() <= VALIDATION_PHOTOS
    assert held_out[np.concatenate(list(sets.values()))].all()
    assert validation_people(faces.sample(frac=1.0, random_state=1)) == people  # fixed, whatever the order
