import math

import pytest
import torch
import torch.nn.functional as F

from training.losses import ArcFaceMargin, WingLoss, distillation_loss, relational_distillation_loss


def test_wing_loss_by_hand() -> None:
    loss = WingLoss(omega=0.1, epsilon=0.01)
    small = loss(torch.tensor([0.01]), torch.tensor([0.0]))
    assert float(small) == pytest.approx(0.1 * math.log(2.0), rel=1e-6)  # 0.0693
    constant = 0.1 - 0.1 * math.log(1.0 + 0.1 / 0.01)
    large = loss(torch.tensor([0.7]), torch.tensor([0.5]))
    assert float(large) == pytest.approx(0.2 - constant, rel=1e-5)  # 0.3398
    assert float(loss(torch.zeros(3), torch.zeros(3))) == 0.0


def test_wing_loss_is_continuous_at_omega_and_steeper_than_l1_for_small_errors() -> None:
    loss = WingLoss(omega=0.1, epsilon=0.01)
    below = float(loss(torch.tensor([0.1 - 1e-6]), torch.tensor([0.0])))
    above = float(loss(torch.tensor([0.1 + 1e-6]), torch.tensor([0.0])))
    assert below == pytest.approx(above, abs=1e-5)
    error = torch.tensor([0.01], requires_grad=True)
    loss(error, torch.tensor([0.0])).backward()
    assert float(error.grad) == pytest.approx(0.1 / (0.01 + 0.01), rel=1e-4)  # 5x the gradient of L1


def test_arcface_adds_the_angular_margin_to_the_true_class_only() -> None:
    head = ArcFaceMargin(embedding_size=2, num_classes=2, scale=2.0, margin=0.5)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[math.cos(math.pi / 3), math.sin(math.pi / 3)], [1.0, 0.0]]))
    logits = head(torch.tensor([[3.0, 0.0]]), torch.tensor([0]))
    expected = [2.0 * math.cos(math.pi / 3 + 0.5), 2.0 * 1.0]
    assert logits[0].tolist() == pytest.approx(expected, rel=1e-5)


def test_arcface_falls_back_linearly_past_pi_minus_margin() -> None:
    head = ArcFaceMargin(embedding_size=2, num_classes=1, scale=1.0, margin=0.5)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[-1.0, 0.0]]))  # theta = pi
    logit = head(torch.tensor([[1.0, 0.0]]), torch.tensor([0]))
    assert float(logit.detach()) == pytest.approx(-1.0 - math.sin(math.pi - 0.5) * 0.5, rel=1e-5)


def test_arcface_loss_falls_when_the_embedding_moves_to_its_centre() -> None:
    head = ArcFaceMargin(embedding_size=4, num_classes=3, scale=16.0, margin=0.4)
    labels = torch.tensor([1])
    centre = head.weight[1].detach().clone()[None]
    far = F.cross_entropy(head(-centre, labels), labels)
    near = F.cross_entropy(head(centre, labels), labels)
    assert float(near.detach()) < float(far.detach())


def test_distillation_loss_is_one_minus_cosine() -> None:
    student = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    teacher = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    assert float(distillation_loss(student, teacher)) == pytest.approx(0.5)


def test_distillation_loss_by_hand() -> None:
    student = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    teacher = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    # cosines: 1/sqrt(2) and 1 -> mean of (1 - cos) = (1 - 0.7071) / 2
    assert float(distillation_loss(student, teacher)) == pytest.approx((1 - 1 / math.sqrt(2)) / 2, rel=1e-6)


def test_relational_distillation_compares_pairwise_cosines_off_the_diagonal() -> None:
    student = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # cosines 0, 0.7071, 0.7071
    teacher = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # cosines 1, 0, 0
    expected = 2 * (1.0**2 + (1 / math.sqrt(2)) ** 2 + (1 / math.sqrt(2)) ** 2) / 6
    assert float(relational_distillation_loss(student, teacher)) == pytest.approx(expected, rel=1e-6)
    rotation = torch.tensor([[0.0, -1.0], [1.0, 0.0]])  # same relations in another orientation: no loss
    assert float(relational_distillation_loss(teacher @ rotation, teacher * 3)) == pytest.approx(0.0, abs=1e-7)
