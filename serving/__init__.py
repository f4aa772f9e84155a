"""Serving the reply path past one process, for every front-end (the Telegram bot, the web page): where inference
runs, and how much work is let in. Nothing here knows Telegram.

    from serving import InferenceConfig, LocalPool, LocalAdmission, admitted, Busy

    pool = LocalPool(InferenceConfig(index_dir=Path("index_data")), workers=2)   # worker processes, models loaded
    limit = LocalAdmission(max_photos=50)
    try:
        async with admitted(limit, photos=1):                  # Busy at once when 50 photos are in
            reply = await pool.reply(photo_bytes, text)        # reply.Reply: faces, cards (JPEG), overview
            compared = await pool.compare([photo_a, photo_b])  # ComparedFaces: comparison + picture (JPEG)
    except Busy:
        ...                                                    # "busy, send it again in a minute"
    except PhotoError / NotEnoughFacesError:                   # as reply.Replier raises them
        ...
    pool.close()                                               # after the jobs in progress

- `serving.pool`: `InferencePool` (`reply`, `compare`, `scales`, `close`), awaitable from any event loop, at most
  `workers` jobs at a time, the rest in order. `LocalPool`: worker processes on this machine, one ONNX thread
  each; a worker that dies mid-job is replaced and the job run again. `InProcessPool`: threads over models this
  process loaded (tests, tools).
- `serving.admission`: `AdmissionLimit` (`reserve` -> ticket, `release`), `LocalAdmission` (this process) and
  `RedisAdmission` (every front-end sharing a Redis), `admitted` for a block, `Busy`.
- `serving.inference`: `Inference`, the models in one process (what a worker runs), its config and job types.

Texts are the caller's: `text` (a reply.card.CardText) gives the words drawn on the pictures in the user's
language; captions and JSON are made from the returned Reply by the front-end (bot/service.py, reply/report.py).
"""

from serving.admission import AdmissionLimit, Busy, LocalAdmission, RedisAdmission, admitted
from serving.inference import ComparedFaces, GalleryScales, Inference, InferenceConfig, InferenceError
from serving.pool import InferencePool, InProcessPool, LocalPool, WorkerDiedError, WorkerStartError

__all__ = ["AdmissionLimit", "Busy", "ComparedFaces", "GalleryScales", "InProcessPool", "Inference",
           "InferenceConfig", "InferenceError", "InferencePool", "LocalAdmission", "LocalPool", "RedisAdmission",
           "WorkerDiedError", "WorkerStartError", "admitted"]
