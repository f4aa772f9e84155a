"""The `lookalike` command line on the bundled example photo and on a photo without a face."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cli.main import EXAMPLE_PHOTO, main


def test_query_prints_a_table_and_writes_a_card(small_index: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["query", str(EXAMPLE_PHOTO), "--index", str(small_index), "--out", str(tmp_path)])
    printed = capsys.readouterr().out

    assert status == 0
    assert "face 1 of" in printed and "rank" in printed and "similarity" in printed
    card = tmp_path / "astronaut_face1.jpg"
    assert f"card: {card}" in printed
    assert Image.open(card).format == "JPEG"


def test_query_json_for_scripts(small_index: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["query", str(EXAMPLE_PHOTO), "--json", "--top", "3",
                   "--index", str(small_index), "--out", str(tmp_path)])
    answer = json.loads(capsys.readouterr().out)

    assert status == 0
    assert answer["photo"] == str(EXAMPLE_PHOTO) and answer["faces"]
    assert [m["rank"] for m in answer["faces"][0]["matches"]] == [1, 2, 3]
    assert Path(answer["faces"][0]["card"]).is_file()


def test_photo_without_a_face_gets_a_clear_message_and_exit_0(small_index: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    gray = tmp_path / "gray.png"
    Image.fromarray(np.full((300, 400, 3), 128, np.uint8)).save(gray)

    status = main(["query", str(gray), "--index", str(small_index), "--out", str(tmp_path / "cards")])

    assert status == 0
    assert "no face found" in capsys.readouterr().out
    assert not list((tmp_path / "cards").glob("*.jpg"))


def test_missing_index_tells_how_to_build_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["query", str(EXAMPLE_PHOTO), "--index", str(tmp_path / "nothing")])

    assert status == 2
    assert "lookalike build-index" in capsys.readouterr().err


def test_demo_queries_the_example_with_an_existing_index(small_index: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["demo", "--index", str(small_index), "--out", str(tmp_path)])

    assert status == 0
    assert "astronaut.jpg: face 1 of" in capsys.readouterr().out


def test_a_group_photo_gets_an_overview_and_a_count_of_what_was_found(
    small_index: Path, data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = [np.asarray(Image.open(data_root / "celeba" / "img_celeba" / name).convert("RGB").resize((256, 384)))
              for name in ("000114.jpg", "001004.jpg", "001145.jpg")]
    group = tmp_path / "group.jpg"
    Image.fromarray(np.concatenate(photos, axis=1)).save(group)

    status = main(["query", str(group), "--max-faces", "2", "--index", str(small_index), "--out", str(tmp_path)])
    printed = capsys.readouterr().out

    assert status == 0
    found = int(printed.split("I found ")[1].split(" faces")[0])
    assert found >= 3 and f"here are the 2 largest ({found - 2} more not searched)" in printed
    assert f"overview (faces numbered): {tmp_path / 'group_overview.jpg'}" in printed
    assert Image.open(tmp_path / "group_overview.jpg").format == "JPEG"
    assert "same person" not in printed
