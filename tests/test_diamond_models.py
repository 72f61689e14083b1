import json
from pathlib import Path

import numpy as np
import pytest
import torch
from diamond_fixtures import NUM_ACTIONS, fixed_inputs, seeded_agent
from golden import frames_match, level_statistics, levels

from worldmodels.core.errors import UserError
from worldmodels.diamond import Agent, AgentConfig, DiffusionSampler, load_agent
from worldmodels.diffusion.edm import add_noise
from worldmodels.diffusion.karras import karras_sigmas

GOLDEN = json.loads((Path(__file__).parent / "data" / "diamond_golden.json").read_text())
PIXELS = np.load(Path(__file__).parent / "data" / "diamond_golden_pixels.npz")
REFERENCE_LISTING = Path(__file__).resolve().parents[2] / "shared" / "reference" / "diamond_state_dict_main.txt"


def test_published_architecture_sizes():
    agent = Agent(AgentConfig().with_num_actions(18))
    modules = ("denoiser", "rew_end_model", "actor_critic")
    counts = {name: sum(p.numel() for p in getattr(agent, name).parameters()) for name in modules}
    assert counts == {"denoiser": 4_406_851, "rew_end_model": 5_902_656, "actor_critic": 3_236_819}
    assert len(agent.state_dict()) == 372
    assert agent.state_dict()["denoiser.inner_model.noise_emb.weight"].shape == (1, 128)  # a buffer, saved


@pytest.mark.skipif(not REFERENCE_LISTING.exists(), reason="../shared/reference is not checked out beside the repo")
def test_state_dict_names_and_shapes_match_the_published_listing():
    expected = {}
    for line in REFERENCE_LISTING.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, shape = line.split()
            expected[name] = tuple(int(s) for s in shape.strip("[]").split(","))
    ours = {k: tuple(v.shape) for k, v in Agent(AgentConfig().with_num_actions(18)).state_dict().items()}
    assert ours == expected


SAMPLERS = {"euler3": {}, "heun3_churn": dict(order=2, s_churn=10.0, s_tmin=1.0, s_tmax=5.0, s_noise=0.9)}


def sample_levels(agent: Agent, seed: int = 0, **kwargs) -> torch.Tensor:
    obs, act, _, _ = fixed_inputs()
    torch.manual_seed(seed)
    x, trajectory = DiffusionSampler(agent.denoiser, **kwargs).sample(obs, act)
    return levels(x), trajectory[0]


@pytest.mark.golden
def test_outputs_equal_the_published_implementation():
    """GOLDEN and PIXELS hold the outputs of the published DIAMOND code (eloialonso/diamond@5bcd159) for the
    weights and inputs of tests/diamond_fixtures.py. One denoiser call is deterministic: float32 tolerances,
    but the denoised frame (quantised to 8 bits) and the Euler sampler's output may flip by one level where a
    value sits on a level boundary;
    Heun with churn on random weights amplifies last-bit differences at a few pixels: compared by statistics."""
    agent = seeded_agent()
    obs, act, noisy, sigma = fixed_inputs()
    flat = obs.flatten(1, 2)
    with torch.no_grad():
        cs = agent.denoiser.conditioners(sigma)
        output = agent.denoiser.model_output(noisy, flat, act, cs)
        denoised = agent.denoiser.denoise(noisy, sigma, flat, act)
    assert torch.allclose(output[:, :, :2, :2].flatten(), torch.tensor(GOLDEN["model_output_corner"]), atol=1e-5)
    assert output.abs().mean().item() == pytest.approx(GOLDEN["model_output_mean_abs"], rel=1e-5)
    golden_denoised = levels(torch.from_numpy(PIXELS["denoised"])).numpy()  # quantised to 8 bits by the denoiser
    assert frames_match(levels(denoised), golden_denoised, max_difference=1), level_statistics(
        levels(denoised), golden_denoised
    )

    for name, kwargs in SAMPLERS.items():
        ours, first_noise = sample_levels(agent, **kwargs)
        assert first_noise.sum().item() == pytest.approx(GOLDEN[f"sampler_{name}_first_noise_sum"], abs=1e-3)
        golden = PIXELS[f"sampler_{name}_levels"]
        assert frames_match(ours, golden, max_difference=1 if name == "euler3" else None), level_statistics(
            ours, golden
        )

    with torch.no_grad():
        logits_rew, logits_end, _ = agent.rew_end_model.predict_rew_end(obs[:, :3], act[:, :3], obs[:, 1:])
        g = torch.Generator().manual_seed(2)
        hx = (torch.randn(2, 512, generator=g), torch.randn(2, 512, generator=g))
        logits_act, value, _ = agent.actor_critic.predict_act_value(obs[:, -1], hx)
    assert torch.allclose(logits_rew.flatten(), torch.tensor(GOLDEN["rew_logits"]), atol=1e-5)
    assert torch.allclose(logits_end.flatten(), torch.tensor(GOLDEN["end_logits"]), atol=1e-5)
    assert torch.allclose(logits_act.flatten(), torch.tensor(GOLDEN["actor_logits"]), atol=1e-5)
    assert torch.allclose(value, torch.tensor(GOLDEN["critic_values"]), atol=1e-5)


HEUN = SAMPLERS["heun3_churn"]


@pytest.mark.parametrize(
    "golden_name, kwargs, seed, broken_weight",
    [
        ("heun3_churn", dict(HEUN, s_churn=0.0), 0, False),  # churn ignored
        ("heun3_churn", dict(HEUN, order=1), 0, False),  # Heun's correction dropped
        ("heun3_churn", dict(HEUN, s_noise=1.0), 0, False),  # churn noise not scaled
        ("heun3_churn", HEUN, 1, False),  # other noise
        ("heun3_churn", HEUN, 0, True),
        ("euler3", dict(num_steps_denoising=4), 0, False),  # another schedule
        ("euler3", {}, 0, True),
    ],
)
def test_the_golden_comparison_fails_on_a_broken_sampler_or_model(golden_name, kwargs, seed, broken_weight):
    """The statistics above are loose enough for any CPU, never so loose that a wrong algorithm passes:
    each of these breakages (or the output layer's weights 1% off) fails them."""
    agent = seeded_agent()
    if broken_weight:
        with torch.no_grad():
            agent.denoiser.inner_model.conv_out.weight.mul_(1.01)
    ours, _ = sample_levels(agent, seed, **kwargs)
    golden = PIXELS[f"sampler_{golden_name}_levels"]
    assert not frames_match(ours, golden, max_difference=1 if golden_name == "euler3" else None)


def test_preconditioning_matches_the_edm_formulas():
    denoiser = seeded_agent().denoiser
    for sigma, (c_in, c_out, c_skip, c_noise) in {
        0.002: (1.715, 0.257, 0.735, -0.301),
        1.0: (0.864, 0.451, 0.187, 0.011),
        5.0: (0.199, 0.498, 0.0099, 0.403),
    }.items():
        cs = denoiser.conditioners(torch.tensor([sigma]))
        got = (cs.c_in.item(), cs.c_out.item(), cs.c_skip.item(), cs.c_noise.item())
        assert got == pytest.approx((c_in, c_out, c_skip, c_noise), abs=2e-3)


def test_karras_schedule_and_a_hand_written_euler_loop():
    sigmas = karras_sigmas(3, 2e-3, 5.0, 7)
    assert sigmas.tolist() == pytest.approx([5.0, 0.28308, 0.002, 0.0], abs=1e-5)
    agent = seeded_agent()
    obs, act, _, _ = fixed_inputs()
    torch.manual_seed(3)
    sampled, trajectory = DiffusionSampler(agent.denoiser).sample(obs, act)
    torch.manual_seed(3)
    x = torch.randn(2, 3, 64, 64)
    for sigma, next_sigma in zip(sigmas[:-1], sigmas[1:]):
        denoised = agent.denoiser.denoise(x, sigma, obs.flatten(1, 2), act)
        x = x + (x - denoised) / sigma * (next_sigma - sigma)
    assert torch.equal(sampled, x)
    assert len(trajectory) == 4
    # The last Euler step lands on the (quantised) denoised frame: valid 8-bit levels.
    assert torch.allclose(levels(sampled).float(), (sampled + 1) * 127.5, atol=1e-3)


class ZeroDenoiser:
    """Predicts a black frame: each Euler step then scales x by next_sigma / sigma_hat."""

    def denoise(self, x, sigma, obs, act, sigma_cond=None):
        return torch.zeros_like(x)


def test_churn_raises_the_noise_level_by_s_churn_over_the_number_of_steps():
    sampler = DiffusionSampler(ZeroDenoiser(), num_steps_denoising=3, s_churn=0.3, s_noise=0.0)
    torch.manual_seed(0)
    _, trajectory = sampler.sample(torch.zeros(1, 1, 3, 4, 4), None)
    sigmas = karras_sigmas(3, 2e-3, 5.0, 7)
    gamma = 0.3 / 3
    assert torch.allclose(trajectory[1], trajectory[0] * sigmas[1] / (sigmas[0] * (1 + gamma)))


def test_offset_noise_shifts_each_sample_and_channel_as_a_whole():
    torch.manual_seed(0)
    noisy = add_noise(torch.zeros(4, 3, 8, 8), torch.zeros(4), sigma_offset_noise=0.3)
    offsets = noisy[:, :, 0, 0]
    assert torch.equal(noisy, offsets[:, :, None, None].expand_as(noisy))  # flat over the image
    assert offsets.unique().numel() == 12  # its own offset per sample and channel


def test_published_layout_round_trip(tmp_path):
    agent = seeded_agent()
    path = tmp_path / "Breakout.pt"
    torch.save(agent.state_dict(), path)  # exactly how the published files were written
    loaded = load_agent(path)
    assert loaded.cfg.num_actions == NUM_ACTIONS
    assert loaded.state_dict().keys() == agent.state_dict().keys()
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in agent.state_dict().items())


def test_bad_checkpoints_fail_with_a_readable_message(tmp_path):
    tensors = seeded_agent().state_dict()
    del tensors["actor_critic.critic_linear.bias"]
    tensors["denoiser.inner_model.conv_in.weight"] = torch.zeros(64, 12, 3, 3)
    torch.save(tensors, tmp_path / "broken.pt")
    wrong = r"wrong shape: denoiser.inner_model.conv_in.weight \(file \(64, 12, 3, 3\)"
    with pytest.raises(UserError, match=r"broken.pt: checkpoint does not match Agent:.* " + wrong):
        load_agent(tmp_path / "broken.pt")
    tensors = seeded_agent().state_dict()
    del tensors["actor_critic.critic_linear.bias"]
    torch.save(tensors, tmp_path / "missing.pt")
    missing = "1 missing: actor_critic.critic_linear.bias"
    with pytest.raises(UserError, match=r"missing.pt: checkpoint does not match Agent: " + missing):
        load_agent(tmp_path / "missing.pt")
    torch.save({"weight": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(UserError, match="other.pt: not a DIAMOND agent checkpoint"):
        load_agent(tmp_path / "other.pt")


def test_published_hydra_config_gives_the_default_architecture(tmp_path):
    published = """
_target_: agent.AgentConfig
denoiser:
  _target_: models.diffusion.DenoiserConfig
  sigma_data: 0.5
  sigma_offset_noise: 0.3
  inner_model:
    _target_: models.diffusion.InnerModelConfig
    img_channels: 3
    num_steps_conditioning: 4
    cond_channels: 256
    depths: [2,2,2,2]
    channels: [64,64,64,64]
    attn_depths: [0,0,0,0]
rew_end_model:
  _target_: models.rew_end_model.RewEndModelConfig
  lstm_dim: 512
  img_channels: ${agent.denoiser.inner_model.img_channels}
  img_size: ${env.train.size}
  cond_channels: 128
  depths: [2,2,2,2]
  channels: [32,32,32,32]
  attn_depths: [0,0,0,0]
actor_critic:
  _target_: models.actor_critic.ActorCriticConfig
  lstm_dim: 512
  img_channels: ${agent.denoiser.inner_model.img_channels}
  img_size: ${env.train.size}
  channels: [32,32,64,64]
  down: [1,1,1,1]
"""
    (tmp_path / "default.yaml").write_text(published)
    assert AgentConfig.from_yaml(tmp_path / "default.yaml") == AgentConfig()
    small = AgentConfig.from_dict({"denoiser": {"inner_model": {"channels": [16, 16, 16, 16]}}})
    assert small.denoiser.inner_model.channels == [16, 16, 16, 16]
    assert small.rew_end_model == AgentConfig().rew_end_model
