"""`lookalike compare`: two real CelebA photos of one person, of two people, and a photo without a face."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from cli.main import main
from reply.compare import FACE_SIDE, GAP

SAME_PERSON = ("000114.jpg", "000825.jpg")  # CelebA identity 7256 twice
STRANGERS = ("000114.jpg", "004074.jpg")


def celeba(data_root: Path, *names: str) -> list[str]:
    return [str(data_root / "celeba" / "img_celeba" / name) for name in names]


def test_two_photos_of_one_person_are_likely_the_same_person(data_root: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["compare", *celeba(data_root, *SAME_PERSON), "--out", str(tmp_path)])
    printed = capsys.readouterr().out

    assert status == 0
    assert ": likely the same person" in printed.splitlines()[0]
    picture = tmp_path / "compare_000114_000825.jpg"
    assert f"faces side by side: {picture}" in printed
    assert Image.open(picture).size == (2 * FACE_SIDE + GAP, FACE_SIDE)


def test_two_people_are_different_people_in_json(data_root: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["compare", *celeba(data_root, *STRANGERS), "--json", "--out", str(tmp_path)])
    answer = json.loads(capsys.readouterr().out)

    assert status == 0
    assert answer["verdict"] == "different" and answer["similarity"] < answer["lookalike_from"]
    assert answer["lookalike_from"] < answer["same_from"]
    assert Path(answer["picture"]).is_file()


def test_a_photo_without_a_face_is_named(data_root: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    blank = tmp_path / "blank.png"
    Image.new("RGB", (320, 240), "grey").save(blank)
    status = main(["compare", *celeba(data_root, SAME_PERSON[0]), str(blank), "--out", str(tmp_path)])

    assert status == 1
    assert f"no face in {blank}" in capsys.readouterr().err
    assert not list(tmp_path.glob("compare_*"))
