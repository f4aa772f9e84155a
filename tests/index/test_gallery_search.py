"""Gallery search on a small real index: own face first, one face per identity, k beyond the gallery."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from index.gallery import Gallery, MissingIndexError, create_faiss_index


def stored_vector(gallery: Gallery, row: int) -> np.ndarray:
    return gallery.index.reconstruct(row)


def test_every_gallery_face_finds_itself_first(small_gallery: Gallery) -> None:
    for row in range(len(small_gallery)):
        best = small_gallery.search(stored_vector(small_gallery, row), k=3)[0]

        assert best.image_id == small_gallery.metadata.at[row, "image_id"]
        assert best.rank == 1
        assert best.similarity == pytest.approx(1.0, abs=1e-4)


def test_results_keep_the_best_face_of_each_identity(small_gallery: Gallery) -> None:
    row = int(np.flatnonzero(small_gallery.metadata.image_id == "000114.jpg")[0])  # identity 7256, 3 photos
    found = small_gallery.search(stored_vector(small_gallery, row), k=8)

    identities = [match.identity for match in found]
    assert len(found) == 8
    assert len(set(identities)) == len(identities)
    assert identities.count(7256) == 1 and found[0].image_id == "000114.jpg"
    assert [match.rank for match in found] == list(range(1, 9))
    assert all(a.similarity >= b.similarity for a, b in zip(found, found[1:], strict=False))


def test_k_larger_than_the_gallery_returns_every_identity_once(small_gallery: Gallery) -> None:
    found = small_gallery.search(stored_vector(small_gallery, 0), k=100)

    assert len(found) == small_gallery.metadata.identity.nunique() == 10
    assert all(match.crop.shape == (112, 112, 3) for match in found)


def test_large_gallery_index_type_searches_the_same_way(small_gallery: Gallery) -> None:
    """Above FLAT_MAX_SIZE the index is HNSW; its per-call search parameters must work through Gallery."""
    vectors = np.stack([stored_vector(small_gallery, row) for row in range(len(small_gallery))])
    hnsw = create_faiss_index(vectors.shape[1], size=10**9)
    hnsw.add(vectors)
    gallery = Gallery(hnsw, small_gallery.metadata, small_gallery.crops, small_gallery.manifest)

    assert isinstance(hnsw, faiss.IndexHNSW)
    assert [m.image_id for m in gallery.search(vectors[4], k=100)] == \
           [m.image_id for m in small_gallery.search(vectors[4], k=100)]


def test_loading_a_folder_without_an_index_says_how_to_build_one(tmp_path: Path) -> None:
    with pytest.raises(MissingIndexError, match="lookalike build-index"):
        Gallery.load(tmp_path)
