"""The distributed mode as deployed (tests/bot/cluster.py): two front-ends and two workers, each its own process,
a real redis-server, the fake Bot API posting each update to the front-ends in turn. Nothing lost, nothing twice,
each sender's photos answered in order, whichever processes the work goes through, and whatever stops meanwhile.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import ClientSession
from cluster import SECRET, Cluster, ready
from fake_bot_api import BOT_USERNAME, SECRET_HEADER, FakeBotAPI
from harness import ONE_CARD, cards_for

ALICE, BOB, CAROL = 701, 702, 703
GROUP = -7001
ANSWER_TIMEOUT_S = 120.0


@asynccontextmanager
async def cluster(redis_server, small_index: Path, tmp_path: Path, front_ends: int = 2,
                  workers: int = 2) -> AsyncIterator[tuple[FakeBotAPI, Cluster]]:
    async with FakeBotAPI() as api:
        bots = Cluster(api, redis_server.url, small_index, tmp_path)
        try:
            await bots.start(front_ends, workers)
            yield api, bots
        finally:
            await bots.stop()


def replies_to(api: FakeBotAPI, chat_id: int) -> list[int | None]:
    """The message each card (alone or an album) or text replies to, in the order they arrived."""
    return [call.reply_to for call in api.calls if call.chat_id_or_none == chat_id
            and call.method in ("sendPhoto", "sendMediaGroup", "sendMessage")]


def test_an_album_a_burst_and_a_compare_across_front_ends_are_answered_once_in_order(redis_server, small_index: Path,
                                                                            tmp_path: Path, face_jpeg: bytes,
                                                                            other_face_jpeg: bytes) -> None:
    async def scenario() -> None:
        async with cluster(redis_server, small_index, tmp_path) as (api, bots):
            group = api.group_chat(GROUP)
            album = api.album(api.photo_message(ALICE, face_jpeg, caption=f"/top8@{BOT_USERNAME}", chat=group),
                              api.photo_message(ALICE, other_face_jpeg, chat=group))
            burst = [api.photo_message(BOB, photo) for photo in [face_jpeg, other_face_jpeg] * 2 + [face_jpeg]]
            api.send(*album)  # one part to each front-end: only the first carries /top8
            api.send(*burst)  # five photos at once, to both front-ends in turn
            first = api.photo_message(CAROL, face_jpeg)
            api.send(first, api.text_message(CAROL, "/compare", reply_to_message=first))
            await api.wait_for(lambda: api.texts(CAROL), ANSWER_TIMEOUT_S)  # "now send the second one"
            api.send(api.photo_message(CAROL, other_face_jpeg))  # the /compare wait, read by the other front-end
            await api.wait_for(lambda: cards_for(api, GROUP, 2) and cards_for(api, BOB, 5)
                               and any(card.startswith("Similarity") for card in api.cards(CAROL)), ANSWER_TIMEOUT_S)
            await asyncio.sleep(2)  # anything sent twice would arrive meanwhile
            to_front_ends = {url for update, url, status in api.pushes if status == 200}
            assert len(to_front_ends) == 2
            assert replies_to(api, GROUP) == [message["message_id"] for message in album]  # answered as one
            assert replies_to(api, BOB) == [message["message_id"] for message in burst]  # in order, each once
            assert api.received(BOB) == [ONE_CARD] * 5

    asyncio.run(scenario())


def test_a_forged_webhook_update_is_refused(redis_server, small_index: Path, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(redis_server, small_index, tmp_path, front_ends=1, workers=0) as (api, bots):
            update = {"update_id": 1, "message": api.text_message(CAROL, "/start")}
            url = bots.processes[0].url
            async with ClientSession() as client:
                for headers in ({}, {SECRET_HEADER: "guess"}):
                    async with client.post(url, json=update, headers=headers) as forged:
                        assert forged.status == 401
                async with client.post(url, json=update, headers={SECRET_HEADER: SECRET}) as genuine:
                    assert genuine.status == 200
            await api.wait_for(lambda: api.texts(CAROL))
            assert len(api.texts(CAROL)) == 1  # the genuine one only

    asyncio.run(scenario())



def running_jobs(redis_server) -> list[bytes]:
    """The jobs a worker has begun to run (arq counts a job's tries when it starts running it)."""
    return list(redis_server.client().scan_iter("arq:retry:*"))


def test_a_worker_killed_mid_job_has_its_job_answered_once_by_another(redis_server, small_index: Path,
                                                                       tmp_path: Path, face_jpeg: bytes,
                                                                       two_faces_jpeg: bytes) -> None:
    """SIGKILL of the only worker while it holds jobs: a worker started afterwards gets them once their lease runs
    out (JOB_LEASE_SECONDS=3 here) and answers each once, in each sender's order."""
    users = (ALICE, BOB, CAROL)

    async def scenario() -> None:
        async with cluster(redis_server, small_index, tmp_path, front_ends=1, workers=1) as (api, bots):
            sent = {user: [api.photo_message(user, photo) for photo in (two_faces_jpeg, face_jpeg)] for user in users}
            for messages in sent.values():
                api.send(*messages)
            while not running_jobs(redis_server):
                await asyncio.sleep(0.005)
            (killed,) = [process for process in bots.processes if process.name == "worker-1"]
            killed.signal(signal.SIGKILL)
            assert await killed.wait() == -signal.SIGKILL
            rescuer = await bots.worker("worker-2")
            await api.wait_for(lambda: all(len(replies_to(api, user)) == 2 for user in users), ANSWER_TIMEOUT_S)
            await asyncio.sleep(2)
            for user in users:
                assert replies_to(api, user) == [message["message_id"] for message in sent[user]]
            assert " try=2" in rescuer.log()  # it ran a job the killed worker had begun

    asyncio.run(scenario())


def test_a_redis_restart_mid_run_loses_nothing_accepted(redis_server, small_index: Path, tmp_path: Path,
                                                         face_jpeg: bytes, other_face_jpeg: bytes) -> None:
    """Redis stops (SIGTERM) and starts again with its append-only file while photos are being accepted and
    answered: front-ends and workers reconnect, updates refused meanwhile are delivered again, and every photo
    is answered once, in each sender's order."""
    users = range(ALICE, ALICE + 5)

    async def scenario() -> None:
        async with cluster(redis_server, small_index, tmp_path) as (api, bots):
            sent = {user: [api.photo_message(user, photo) for photo in (face_jpeg, other_face_jpeg)] for user in users}
            for messages in sent.values():
                api.send(*messages)
            await api.wait_for(lambda: len(api.pushes) >= 3, 30)
            await asyncio.to_thread(redis_server.restart, 2.0)
            await api.wait_for(lambda: all(len(replies_to(api, user)) == 2 for user in users), ANSWER_TIMEOUT_S)
            await asyncio.sleep(2)
            for user in users:
                assert replies_to(api, user) == [message["message_id"] for message in sent[user]]
            assert all(process.process.returncode is None for process in bots.processes)

    asyncio.run(scenario())


def test_one_polling_front_end_serves_and_a_second_is_refused(redis_server, small_index: Path, tmp_path: Path,
                                                               face_jpeg: bytes) -> None:
    """Telegram hands each update to one getUpdates: a second polling front-end would steal updates, so it stops
    at once with the reason (exit code 2); the first goes on serving."""

    async def scenario() -> None:
        async with FakeBotAPI() as api:
            bots = Cluster(api, redis_server.url, small_index, tmp_path)
            try:
                await bots.worker("worker-1")
                first = await bots.spawn("polling-1")
                await api.wait_for(lambda: api.sent("getUpdates"), 120)
                second = await bots.spawn("polling-2")
                assert await second.wait() == 2
                assert "only one may" in second.log()
                api.send(api.photo_message(ALICE, face_jpeg))
                await api.wait_for(lambda: cards_for(api, ALICE, 1), ANSWER_TIMEOUT_S)
                first.signal(signal.SIGTERM)
                assert await first.wait() == 0
            finally:
                await bots.stop()
        assert api.received(ALICE) == [ONE_CARD]

    asyncio.run(scenario())


def test_a_worker_stopped_mid_job_hands_its_jobs_back(redis_server, small_index: Path, tmp_path: Path,
                                                       face_jpeg: bytes, two_faces_jpeg: bytes) -> None:
    """SIGTERM of a worker with no time to finish (SHUTDOWN_TIMEOUT_SECONDS=0): it exits at once, its running jobs
    go back to the queue, and the next worker answers each photo once, in order."""
    users = (ALICE, BOB)

    async def scenario() -> None:
        async with cluster(redis_server, small_index, tmp_path, front_ends=1, workers=0) as (api, bots):
            stopped = await bots.spawn("worker-1", "--worker", LOG_LEVEL="INFO", SHUTDOWN_TIMEOUT_SECONDS="0")
            await bots.until(stopped, lambda: ready(stopped))
            sent = {user: [api.photo_message(user, photo) for photo in (two_faces_jpeg, face_jpeg, two_faces_jpeg)]
                    for user in users}
            for messages in sent.values():
                api.send(*messages)
            while not running_jobs(redis_server):
                await asyncio.sleep(0.005)
            stopped.signal(signal.SIGTERM)
            assert await stopped.wait() == 0, stopped.log()[-3000:]
            await bots.worker("worker-2")
            await api.wait_for(lambda: all(len(replies_to(api, user)) == 3 for user in users), ANSWER_TIMEOUT_S)
            await asyncio.sleep(2)
            for user in users:
                assert replies_to(api, user) == [message["message_id"] for message in sent[user]]
            assert "will be run again" in stopped.log()  # it did hand a running job back

    asyncio.run(scenario())
