"""Genie's latent action model, dynamics model and MaskGIT sampler on tiny configs and synthetic data."""

import pytest
import torch

from worldmodels.genie.dynamics import DynamicsConfig, DynamicsModel
from worldmodels.genie.latent_action import LatentActionConfig, LatentActionModel
from worldmodels.genie.maskgit import generate, sample_next_frame, sample_tokens

VOCAB, ACTIONS, TOKENS = 8, 4, 16


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run faster on one thread, and the timings stay stable next to other jobs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


def tiny_lam(**kwargs) -> LatentActionModel:
    cfg = dict(image_size=8, patch_size=4, dim=32, depth=1, heads=2, max_frames=3)
    return LatentActionModel(LatentActionConfig(**(cfg | kwargs)))


def tiny_dynamics(**kwargs) -> DynamicsModel:
    cfg = dict(num_codes=VOCAB, num_actions=ACTIONS, tokens_per_frame=TOKENS, dim=32, depth=2, heads=2, max_frames=4)
    return DynamicsModel(DynamicsConfig(**(cfg | kwargs)))


def counter_tokens(batch: int, frames: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Token videos whose next frame needs the action: every token moves on by (action + 1) mod the vocabulary."""
    first = torch.randint(VOCAB, (batch, 1, TOKENS), generator=g)
    actions = torch.randint(ACTIONS, (batch, frames - 1), generator=g)
    offsets = torch.cat((torch.zeros(batch, 1, dtype=torch.long), actions + 1), dim=1).cumsum(dim=1)
    return (first + offsets[:, :, None]) % VOCAB, actions


def test_lam_shapes():
    lam = tiny_lam(max_frames=4)
    video = torch.rand(2, 4, 3, 8, 8) * 2 - 1
    reconstruction, indices, loss = lam(video)
    assert reconstruction.shape == (2, 3, 3, 8, 8)
    assert indices.shape == (2, 3) and loss.ndim == 0 and loss > 0
    actions = lam.infer_actions(video)
    assert actions.dtype == torch.long and actions.shape == (2, 3)
    assert torch.equal(actions, indices) and actions.max() < lam.cfg.num_codes
    assert lam.cfg.num_codes == 8 and LatentActionConfig().patch_size == 16


def test_lam_decoder_sees_next_frame_only_through_the_action():
    lam = tiny_lam(max_frames=4).eval()
    video = torch.rand(8, 4, 3, 8, 8) * 2 - 1
    changed = video.clone()
    changed[:, 2] = torch.rand(8, 3, 8, 8) * 2 - 1  # x_3
    with torch.no_grad():
        # Decoder alone, actions held fixed: the predictions of x_2 and x_3 ignore x_3; that of x_4 uses it.
        actions = lam.vq.codes(torch.randint(8, (8, 3)))
        before, after = lam.decode(video[:, :-1], actions), lam.decode(changed[:, :-1], actions)
        assert torch.equal(before[:, :2], after[:, :2])
        assert not torch.allclose(before[:, 2], after[:, 2])
        # Whole model: where x_3 and its replacement get the same code a_2, the prediction of x_3 is the same.
        (before, i_before, _), (after, i_after, _) = lam(video), lam(changed)
    same = i_before[:, 1] == i_after[:, 1]
    assert same.any()
    torch.testing.assert_close(before[same, 1], after[same, 1], rtol=0, atol=1e-6)


COLOURS = torch.tensor([[1.0, -1, -1], [-1, 1, -1], [-1, -1, 1], [1, 1, -1]])


def tinted_videos(batch: int, frames: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """8x8 videos of noise; action a tints the next frame faintly with colour a: actions a LAM can learn to see
    (an untrained one hardly tells them apart through the noise)."""
    actions = torch.randint(4, (batch, frames - 1), generator=g)
    video = torch.rand(batch, frames, 3, 8, 8, generator=g) - 0.5
    video[:, 1:] += COLOURS[actions][..., None, None] * 0.15
    return video, actions


@pytest.mark.parametrize("pairwise", [False, True])
def test_lam_uses_several_codes_that_follow_the_true_actions(pairwise):
    """Trained on videos whose actions it never sees, the LAM's codes name those actions (a code may split
    an action in two, so NMI rather than accuracy). Untrained, they do not."""
    from worldmodels.genie.metrics import normalized_mutual_information

    g = torch.Generator().manual_seed(0)
    lam = tiny_lam(dead_code_steps=10, pairwise=pairwise)
    video, true_actions = tinted_videos(128, 3, g)
    untrained = lam.eval().infer_actions(video).flatten().numpy()
    assert normalized_mutual_information(untrained, true_actions.flatten().numpy()) < 0.3
    optimizer = torch.optim.Adam(lam.train().parameters(), lr=3e-3)
    for _ in range(100):
        loss = lam(tinted_videos(32, 3, g)[0])[2]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    actions = lam.eval().infer_actions(video)
    assert actions.unique().numel() >= 3
    assert normalized_mutual_information(actions.flatten().numpy(), true_actions.flatten().numpy()) > 0.6


def test_a_pairwise_lam_reads_each_transition_alone():
    """Latent a_t comes from x_t and x_{t+1} only; the prediction of x_{t+1} from x_t and a_t only."""
    lam = tiny_lam(max_frames=4, pairwise=True).eval()
    video = torch.rand(4, 4, 3, 8, 8) * 2 - 1
    changed = video.clone()
    changed[:, 0] = torch.rand(4, 3, 8, 8) * 2 - 1  # x_1
    with torch.no_grad():
        assert torch.equal(lam.latent(video)[:, 1:], lam.latent(changed)[:, 1:])
        assert not torch.allclose(lam.latent(video)[:, 0], lam.latent(changed)[:, 0])
        actions = lam.vq.codes(torch.randint(8, (4, 3)))
        before, after = lam.decode(video[:, :-1], actions), lam.decode(changed[:, :-1], actions)
    torch.testing.assert_close(before[:, 1:], after[:, 1:], rtol=0, atol=1e-6)
    assert not torch.allclose(before[:, 0], after[:, 0])


@pytest.mark.parametrize("action_token", [False, True])
def test_dynamics_shapes_and_action_shift(action_token):
    """Added to the frame's tokens or as its own token, a_i reaches exactly the frame it leads to, and later."""
    model = tiny_dynamics(action_token=action_token).eval()
    tokens, actions = counter_tokens(2, 4, torch.Generator().manual_seed(0))
    logits = model(tokens, actions)
    assert logits.shape == (2, 4, TOKENS, VOCAB)
    loss, accuracy = model.loss(tokens, actions)
    assert loss.ndim == 0 and 0 <= accuracy <= 1
    # a_2 (index 1) leads from frame 2 to frame 3: it must reach frame 3 and later, not frames 1 and 2.
    other = actions.clone()
    other[:, 1] = (other[:, 1] + 1) % ACTIONS
    changed = model(tokens, other)
    assert torch.equal(logits[:, :2], changed[:, :2])
    assert not torch.allclose(logits[:, 2], changed[:, 2])


@pytest.mark.parametrize("action_token", [False, True])
def test_tokens_see_their_whole_frame(action_token):
    model = tiny_dynamics(action_token=action_token).eval()
    tokens, actions = counter_tokens(1, 4, torch.Generator().manual_seed(0))
    other = tokens.clone()
    other[0, 3, -1] = (other[0, 3, -1] + 1) % VOCAB  # the last token of the newest frame
    before, after = model(tokens, actions), model(other, actions)
    assert not torch.allclose(before[0, 3, 0], after[0, 3, 0])  # spatial attention is not causal
    assert torch.equal(before[0, :3], after[0, :3])  # temporal attention is


def test_dynamics_loss_falls_when_overfitting():
    model = tiny_dynamics()
    tokens, actions = counter_tokens(8, 4, torch.Generator().manual_seed(0))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        loss, _ = model.loss(tokens, actions)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5


@pytest.mark.parametrize("action_token", [False, True])
def test_dynamics_uses_the_actions(action_token):
    g = torch.Generator().manual_seed(0)
    model = tiny_dynamics(action_token=action_token)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(100):
        loss, _ = model.loss(*counter_tokens(32, 4, g))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    tokens, actions = counter_tokens(128, 4, g)
    shuffled = actions[torch.randperm(128, generator=g)]
    with torch.no_grad():  # frames 2..4 fully masked: predict them from frame 1 and the actions
        _, true_accuracy = model.loss(tokens, actions, mask_rate=(1.0, 1.0))
        _, shuffled_accuracy = model.loss(tokens, shuffled, mask_rate=(1.0, 1.0))
    assert true_accuracy > 0.6
    assert true_accuracy > shuffled_accuracy + 0.3


def test_full_mask_hides_whole_frames_but_never_the_first(monkeypatch):
    model = tiny_dynamics()
    tokens, actions = counter_tokens(64, 4, torch.Generator().manual_seed(0))
    masks = []
    forward = model.forward
    monkeypatch.setattr(model, "forward", lambda t, a, mask: masks.append(mask) or forward(t, a, mask))
    model.loss(tokens, actions, full_mask=1.0)
    model.loss(tokens, actions, full_mask=0.0)
    hidden = [m.float().mean(-1) for m in masks]  # b t: the share of each frame hidden
    assert (hidden[0][:, 0] == 0).all() and (hidden[0][:, 1:] == 1).all()
    rates = hidden[1][:, 1:]  # drawn from U(0.5, 1) per frame: 0.75 on average, rarely a whole frame
    assert (hidden[1][:, 0] == 0).all() and 0.68 < rates.mean() < 0.82 and (rates == 1).float().mean() < 0.2


@pytest.mark.parametrize("action_token", [False, True])
def test_cached_step_matches_full_forward(action_token):
    model = tiny_dynamics(action_token=action_token).eval()
    tokens, actions = counter_tokens(2, 4, torch.Generator().manual_seed(0))
    mask = torch.rand(2, TOKENS) < 0.5
    with torch.no_grad():
        full = model(tokens, actions, torch.cat((torch.zeros(2, 3, TOKENS, dtype=torch.bool), mask[:, None]), 1))
        cache = model.context(tokens[:, :3], actions[:, :2])
        step = model.step(tokens[:, 3], actions[:, 2], cache, mask)
    assert (full[:, -1] - step).abs().max() < 1e-4


@pytest.mark.parametrize("action_token", [False, True])
def test_cached_and_uncached_decoding_give_the_same_frames(action_token):
    model = tiny_dynamics(action_token=action_token).eval()
    tokens, _ = counter_tokens(2, 3, torch.Generator().manual_seed(0))
    actions = torch.randint(ACTIONS, (2, 3))
    frames = [
        sample_next_frame(model, tokens, actions, steps=6, generator=torch.Generator().manual_seed(1), use_cache=c)
        for c in (True, False)
    ]
    assert frames[0].shape == (2, TOKENS) and torch.equal(frames[0], frames[1])
    rollout = torch.randint(ACTIONS, (2, 6))  # 7 frames with a 4-frame model: the window slides
    rollouts = [
        generate(model, tokens[:, :1], rollout, steps=4, generator=torch.Generator().manual_seed(2), use_cache=c)
        for c in (True, False)
    ]
    assert torch.equal(rollouts[0], rollouts[1])


def test_generate_rolls_out_past_the_window():
    model = tiny_dynamics().eval()
    first = torch.randint(VOCAB, (2, 1, TOKENS))
    actions = torch.randint(ACTIONS, (2, 6))  # 7 frames with a 4-frame model
    frames = generate(model, first, actions, steps=4, temperature=0.0)
    assert frames.shape == (2, 7, TOKENS) and frames.dtype == torch.long
    assert torch.equal(frames[:, :1], first) and frames.max() < VOCAB
    assert torch.equal(frames, generate(model, first, actions, steps=4, temperature=0.0))  # greedy: deterministic


class ScriptedDynamics:
    """Stands in for the dynamics model in MaskGIT decoding: fresh random logits at every step, and a record
    of the masks it was given and how many past frames the context held."""

    cfg = DynamicsConfig(num_codes=8, tokens_per_frame=16, max_frames=4)

    def __init__(self):
        self.generator = torch.Generator().manual_seed(0)
        self.masks, self.proposals, self.frames_seen = [], [], []

    def context(self, tokens, actions):
        self.frames_seen.append(tokens.shape[1])

    def step(self, frame, action, cache, mask):
        logits = torch.randn(*frame.shape, self.cfg.num_codes, generator=self.generator)
        self.masks.append(mask[0].clone())
        self.proposals.append(logits[0].argmax(-1))
        return logits


def test_maskgit_follows_the_cosine_schedule_and_never_changes_a_fixed_token():
    model = ScriptedDynamics()
    past = torch.randint(8, (1, 5, 16))
    frame = sample_next_frame(model, past, torch.zeros(1, 5, dtype=torch.long), steps=4, temperature=0)[0]
    assert model.frames_seen == [3]  # the last max_frames - 1 past frames
    assert [int(m.sum()) for m in model.masks] == [16, 14, 11, 6]  # floor(16 cos(pi/2 i/4)), i = 0..3
    assert all(not (later & ~earlier).any() for earlier, later in zip(model.masks, model.masks[1:]))  # no re-masking
    # Greedy decoding: each token keeps the proposal of the last step that saw it masked.
    last_masked = torch.stack(model.masks).long().cumsum(0).argmax(0)
    assert torch.equal(frame, torch.stack(model.proposals).gather(0, last_masked[None])[0])


def test_a_low_temperature_sharpens_sampling():
    logits = torch.tensor([2.0, 1.0, 0.0]).expand(1, 4000, 3)
    generator = torch.Generator().manual_seed(0)
    ids, probs = sample_tokens(logits, 0.25, generator)
    assert (ids == 0).float().mean() > 0.95  # softmax([8, 4, 0]) gives id 0 a probability of 0.98
    assert torch.allclose(probs[ids == 0], torch.tensor([8.0, 4.0, 0.0]).softmax(0)[0])
    ids, _ = sample_tokens(logits, 4.0, generator)
    assert (ids == 2).float().mean() > 0.2  # softmax([0.5, 0.25, 0]): 0.28
