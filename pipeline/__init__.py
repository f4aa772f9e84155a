"""lookalike's face pipeline: detector -> landmarks -> alignment -> embedder.

    from pipeline import FacePipeline
    faces = FacePipeline.load()(rgb_image)
"""

from pipeline.face import Face
from pipeline.face_pipeline import FacePipeline

__all__ = ["Face", "FacePipeline"]
