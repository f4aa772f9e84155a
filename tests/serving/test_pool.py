"""The local worker pool with the real models over the small test index: the same answers as the reply path in
this process, failures as the reply path raises them, and a worker killed mid-job costs nothing but time."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import settings
from pipeline.photo import PhotoError, PhotoProblem
from reply.card import ENGLISH
from reply.compare import NotEnoughFacesError
from reply.replier import Replier
from serving import InferenceConfig, LocalPool, WorkerStartError
from serving.inference import Inference

ONE_FACE, OTHER_FACE = "000114.jpg", "004074.jpg"


@pytest.fixture(scope="module")
def config(small_index: Path) -> InferenceConfig:
    return InferenceConfig(index_dir=small_index, weights_dir=settings.weights_dir())


@pytest.fixture(scope="module")
def pool(config: InferenceConfig) -> Iterator[LocalPool]:
    pool = LocalPool(config, workers=2)
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def photos(data_root: Path) -> dict[str, bytes]:
    return {name: (data_root / "celeba" / "img_celeba" / name).read_bytes() for name in (ONE_FACE, OTHER_FACE)}


def test_answers_are_the_reply_paths(pool: LocalPool, config: InferenceConfig, photos: dict[str, bytes]) -> None:
    here: Replier = Inference.load(config).replier
    reply = asyncio.run(pool.reply(photos[ONE_FACE], ENGLISH))
    expected = here.reply(photos[ONE_FACE])
    assert [face.card for face in reply.faces] == [face.card for face in expected.faces]
    assert reply.found == 1 and [m.identity for m in reply.faces[0].found.matches] == [
        m.identity for m in expected.faces[0].found.matches]
    assert reply.faces[0].found.matches[0].crop.size == 0  # on the card already: not sent back
    assert reply.faces[0].found.face.crop.shape == (112, 112, 3)
    two = [photos[ONE_FACE], photos[OTHER_FACE]]
    compared = asyncio.run(pool.compare(two))
    assert compared.comparison.similarity == pytest.approx(here.compare(two).similarity)
    assert compared.picture.startswith(b"\xff\xd8")
    assert pool.scales.scale == here.engine.gallery.scale


def test_failures_come_back_as_the_reply_path_raises_them(pool: LocalPool, photos: dict[str, bytes]) -> None:
    with pytest.raises(PhotoError) as not_an_image:
        asyncio.run(pool.reply(b"Shopping list\n- eggs\n", ENGLISH))
    assert not_an_image.value.problem is PhotoProblem.NOT_AN_IMAGE
    with pytest.raises(NotEnoughFacesError) as one_face:
        asyncio.run(pool.compare([photos[ONE_FACE]]))
    assert (one_face.value.found, one_face.value.photo) == (1, None)


def test_many_jobs_at_once_are_all_answered(pool: LocalPool, photos: dict[str, bytes]) -> None:
    async def many() -> list[int]:
        replies = await asyncio.gather(*(pool.reply(photos[name], ENGLISH) for name in [ONE_FACE, OTHER_FACE] * 6))
        return [reply.found for reply in replies]

    assert asyncio.run(many()) == [1] * 12


def test_a_worker_killed_mid_job_is_replaced_and_its_job_answered(pool: LocalPool, photos: dict[str, bytes],
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    async def kill_during_jobs() -> list[int]:
        jobs = [asyncio.create_task(pool.reply(photos[ONE_FACE], ENGLISH)) for _ in range(4)]
        await asyncio.sleep(0.05)  # both workers are busy with the first two
        os.kill(pool.pids[0], signal.SIGKILL)
        return [reply.found for reply in await asyncio.gather(*jobs)]

    before = set(pool.pids)
    with caplog.at_level(logging.ERROR, logger="serving.pool"):
        assert asyncio.run(kill_during_jobs()) == [1] * 4
    assert "died during a job" in caplog.text
    assert len(pool.pids) == 2 and len(set(pool.pids) - before) == 1


def test_a_missing_index_stops_the_start_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(WorkerStartError, match="build-index"):
        LocalPool(InferenceConfig(index_dir=tmp_path / "no_index"), workers=1)
