"""The named gallery: built from faces_extra beside the CelebA gallery, the source and name of each face
recorded, held-out photos of its people found, shown by the engine, the card and the command line; and each
gallery's look-alike scale, measured on people in neither."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli.main import EXAMPLE_PHOTO, main
from index.engine import LookalikeEngine
from index.extra import ExtraConfig, pipeline_crops, split_extra
from index.gallery import MANIFEST_FILE, METADATA_FILE, NAMED_DIR, SCALE_FILE, Gallery
from pipeline import Face
from readers.faces_extra import read_faces_extra
from reply.replier import Replier


def test_each_face_records_its_source_and_who_it_is(named_index: Path, named_people: tuple[str, ...]) -> None:
    celeba = pd.read_csv(named_index / METADATA_FILE, dtype={"image_id": str})
    named = pd.read_csv(named_index / NAMED_DIR / METADATA_FILE)

    assert celeba["name"].isna().all() and set(celeba["source"]) == {"wild", "align"}
    assert set(named["name"]) == set(named_people)
    assert {"tmdb"} <= set(named["source"]) and named["image_id"].str.startswith(tuple(named["source"])).all()
    assert named.groupby("name")["identity"].nunique().eq(1).all() and named["identity"].nunique() == 10


def test_one_photo_of_each_person_is_held_out_of_the_named_gallery(named_index: Path,
                                                                  named_people: tuple[str, ...]) -> None:
    manifest = json.loads((named_index / NAMED_DIR / MANIFEST_FILE).read_text())
    named = pd.read_csv(named_index / NAMED_DIR / METADATA_FILE)

    assert len(manifest["held_out"]) == len(named_people)
    assert not set(manifest["held_out"]) & set(named["image_id"])
    assert json.loads((named_index / MANIFEST_FILE).read_text())["named"] == NAMED_DIR


def held_out_faces(face_pipeline, data_root: Path, paths: list[str]) -> list[Face]:
    """Held-out faces_extra photos as the pipeline's Faces, cut again as the index build cuts them."""
    folder = data_root / "faces_extra"
    rows = read_faces_extra(folder).set_index("path").loc[paths].reset_index()
    crops = pipeline_crops(face_pipeline, folder, rows)
    return [Face(box=np.array([0, 0, 112, 112], np.float32), score=1.0, landmarks=np.zeros((5, 2), np.float32),
                 crop=crop, embedding=embedding) for crop, embedding in zip(crops, face_pipeline.embed_crops(crops),
                                                                            strict=True)]


def test_a_held_out_photo_of_a_named_person_finds_that_person(named_engine: LookalikeEngine, face_pipeline,
                                                               data_root: Path, named_index: Path) -> None:
    held_out = json.loads((named_index / NAMED_DIR / MANIFEST_FILE).read_text())["held_out"]
    rows = pd.read_csv(data_root / "faces_extra" / "faces.csv", dtype={"identity": str, "gender": str})
    names = rows.set_index("path").loc[held_out, "identity"].str.replace("_", " ").tolist()

    found = [named_engine.face_matches(face) for face in held_out_faces(face_pipeline, data_root, held_out)]

    assert [face_matches.named.name for face_matches in found] == names
    assert all(len(face_matches.matches) == 8 and not face_matches.matches[0].name for face_matches in found)


def test_the_card_grows_a_named_row(named_engine: LookalikeEngine, celeba_photo: np.ndarray,
                                    named_people: tuple[str, ...]) -> None:
    face_matches = named_engine.lookup(celeba_photo).faces[0]
    without_named = dataclasses.replace(face_matches, named=None)

    assert face_matches.named is not None and face_matches.named.name in named_people
    replier = Replier(named_engine)
    assert replier.card(face_matches).shape[0] > replier.card(without_named).shape[0]


def test_the_command_line_names_the_closest_named_celebrity(named_index: Path, named_people: tuple[str, ...],
                                                           tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    main(["query", str(EXAMPLE_PHOTO), "--index", str(named_index), "--out", str(tmp_path)])
    text = capsys.readouterr().out
    main(["query", str(EXAMPLE_PHOTO), "--json", "--index", str(named_index), "--out", str(tmp_path)])
    answer = json.loads(capsys.readouterr().out)

    named = answer["faces"][0]["named"]
    assert named["name"] in named_people
    assert f"closest named celebrity: {named['name']}" in text


def test_each_gallery_has_a_scale_measured_on_people_in_neither(named_index: Path, named_config) -> None:
    for folder in (named_index, named_index / NAMED_DIR):
        figures = json.loads((folder / SCALE_FILE).read_text())
        gallery = Gallery.load(folder)

        assert figures["people"] == named_config.unlabelled_people
        assert gallery.scale is not None and gallery.scale.strong > gallery.scale.similar
        assert figures["share_in_band"]["closest"]["strong"] == pytest.approx(0.1, abs=0.01)
        assert figures["share_in_band"]["closest"]["weak"] == pytest.approx(0.5, abs=0.01)


def test_a_new_named_set_joins_without_code_changes(data_root: Path, tmp_path: Path) -> None:
    """Any faces.csv row with a name is a named face, whatever its source: a set added later joins the gallery."""
    rows = pd.read_csv(data_root / "faces_extra" / "faces.csv", dtype={"identity": str, "gender": str}).head(3)
    added = rows.assign(source="newset", identity=["New_Person", "New_Person", "Other_Person"],
                        path=[f"newset/{n}.webp" for n in range(3)])
    pd.concat([rows, added]).to_csv(tmp_path / "faces.csv", index=False)

    split = split_extra(tmp_path, ExtraConfig(unlabelled_people=1, unseen_named_share=0.0, hold_out_from=2))

    assert set(split.gallery["name"]) == {"New Person", "Other Person"}
    assert split.held_out["name"].tolist() == ["New Person"]
    assert split.unseen.empty or (split.unseen["source"] == "aaf").all()
