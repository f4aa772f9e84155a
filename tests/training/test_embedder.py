"""The fine-tuning recipe's parts: frozen stages stay as they were, the projection to the ensemble's space starts at
the least-squares map, validation pools both sets' impostors for the threshold."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from training.embedder import PairedBatches, freeze_stages, least_squares_projection, validate
from training.mobilefacenet import MobileFaceNet


def test_frozen_stages_do_not_change_in_a_step_and_the_rest_does() -> None:
    torch.manual_seed(0)
    model = MobileFaceNet()
    trained = freeze_stages(model, 2)  # the stem and the first bottleneck stage
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimizer = torch.optim.SGD(trained, lr=0.1)
    model(torch.randn(2, 3, 112, 112)).pow(2).sum().backward()
    optimizer.step()
    changed = {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    frozen = {name for name in before if name.startswith(("stem", "stages.0."))}
    assert frozen and not changed & frozen
    assert changed == set(before) - frozen


def test_no_stage_is_frozen_by_default() -> None:
    model = MobileFaceNet()
    assert len(freeze_stages(model, 0)) == len(list(model.parameters()))


def test_the_projection_recovers_a_linear_map() -> None:
    rng = np.random.default_rng(0)
    source = rng.normal(size=(500, 6)).astype(np.float32)
    weight = rng.normal(size=(4, 6)).astype(np.float32)
    projection = least_squares_projection(source, source @ weight.T)
    assert projection.shape == (4, 6)
    np.testing.assert_allclose(projection.numpy(), weight, atol=1e-4)


def test_validation_reads_the_threshold_over_both_sets_impostors() -> None:
    """Two sets of two people, embeddings placed by hand: the pooled threshold lies between the sets' own."""
    vectors = {"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [1.0, 0.3], "d": [0.3, 1.0]}
    people = np.array(["a", "a", "b", "b", "c", "c", "d", "d"])
    embeddings = F.normalize(torch.tensor([vectors[p] for p in people]), dim=1)
    sets = {"first": np.arange(4), "second": np.arange(4, 8)}
    figures = validate(embeddings.numpy(), people, sets)
    assert figures["val_first_tpr"] == figures["val_second_tpr"] == 1.0  # genuine pairs at cosine 1
    assert figures["val_tpr"] == 1.0
    first = float(embeddings[0] @ embeddings[2])  # 0
    second = float(embeddings[4] @ embeddings[6])  # 0.55
    assert first <= figures["val_threshold"] <= second + 1e-4
    assert figures["val_threshold"] == pytest.approx(np.quantile([first] * 4 + [second] * 4, 0.99), abs=1e-4)


def test_paired_batches_show_two_photos_of_each_chosen_person() -> None:
    identities = np.array(["a", "a", "a", "b", "b", "c", "", "", "d", "e", "e"])
    batches = list(PairedBatches(identities, batch=6, pairs=2, steps=50, seed=0))
    assert len(batches) == 50 and all(len(batch) == 6 for batch in batches)
    for batch in batches:
        paired = identities[batch[:4]]
        assert paired[0] == paired[1] != "" and paired[2] == paired[3] != "" and paired[0] != paired[2]
        assert batch[0] != batch[1] and batch[2] != batch[3]  # two different photos, never one twice
        assert set(paired) <= {"a", "b", "e"}  # c and d have one photo only
