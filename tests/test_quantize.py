import torch

from worldmodels.nn.quantize import VectorQuantizer


def test_nearest_code_and_straight_through():
    vq = VectorQuantizer(4, 3)
    with torch.no_grad():
        vq.codebook.weight.copy_(torch.eye(4, 3) * 2)  # the last code is all zeros: never nearest
    z = torch.tensor([[0.9, 0.1, 0.0], [0.0, 0.2, 3.0]], requires_grad=True)
    z_q, indices, loss = vq(z)
    assert indices.tolist() == [0, 2]
    assert torch.allclose(z_q, torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]), atol=1e-6)
    (z_q.sum() + loss).backward()
    assert z.grad is not None and z.grad.abs().sum() > 0  # gradients reach the encoder


def test_dead_codes_are_reseeded_without_breaking_backward():
    torch.manual_seed(0)
    vq = VectorQuantizer(16, 4, dead_after=1)
    optimizer = torch.optim.SGD(vq.parameters(), lr=0.1)
    z = torch.randn(8, 4) + torch.tensor([5.0, 0, 0, 0])  # all vectors near one direction: most codes go unused
    before = vq.codebook.weight.detach().clone()
    for _ in range(3):
        _, indices, loss = vq(z)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    changed = (vq.codebook.weight.detach() - before).abs().sum(dim=1) > 0
    assert changed.sum() > len(torch.unique(indices))  # unused codes moved too: they were re-seeded
    assert len(torch.unique(vq(z)[1])) > 1  # re-seeded codes are in use: more than the one code at the start


def test_commitment_weight_applies_to_the_encoder_side_only():
    """Codebook term (weight 1) trains the codes, the commitment term (weight beta) the encoder output."""
    grads = {}
    for beta in (0.0, 0.5):
        torch.manual_seed(0)
        vq = VectorQuantizer(num_codes=4, dim=3, beta=beta).eval()
        z = torch.randn(6, 3, requires_grad=True)
        vq(z)[2].backward()
        grads[beta] = z.grad.clone(), vq.codebook.weight.grad.clone()
    assert torch.equal(grads[0.0][0], torch.zeros(6, 3)) and grads[0.5][0].abs().sum() > 0
    assert torch.allclose(grads[0.0][1], grads[0.5][1]) and grads[0.0][1].abs().sum() > 0
