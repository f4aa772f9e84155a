"""lookalike's gallery: build the CelebA index (index.build), search it (index.gallery), measure its look-alike
scale (index.scale, index.bands) and look up a photo's faces in it (index.engine). The answer built from a
look-up (cards, notes) is reply/'s; the `lookalike` command line is cli/'s.

    from index.engine import LookalikeEngine
    result = LookalikeEngine.load("index_data").lookup(rgb)
"""
