"""lookalike's face pipeline: detector -> landmarks -> alignment -> embedder.

    from pipeline import FacePipeline
    faces = FacePipeline.load()(rgb_image)
"""

from .face import Face
from .inference import FacePipeline

__all__ = ["Face", "FacePipeline"]
