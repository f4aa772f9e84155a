"""lookalike's gallery: build the CelebA index (index.build), search it (index.gallery), answer queries
(index.engine) and the `lookalike` command line (cli.main).

    from index.engine import LookalikeEngine
    result = LookalikeEngine.load("index_data").lookup(rgb)
"""
