import dataclasses
import math
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from worldmodels.data.episodes import EpisodeDataset
from worldmodels.diamond import Agent, AgentConfig, load_agent
from worldmodels.diamond.actor_critic import ActorCritic, ActorCriticLossConfig, lambda_returns
from worldmodels.diamond.world_model_env import WorldModelEnv
from worldmodels.diffusion.edm import SigmaDistribution

ROOT = Path(__file__).resolve().parents[1]
TINY_AGENT = AgentConfig.from_yaml(ROOT / "configs/diamond/tiny_agent.yaml").with_num_actions(4)


def diamond_train(*args: str, cwd: Path, port: str = "") -> subprocess.CompletedProcess:
    """Run from ``cwd`` (outside the repo): the config's agent_config is found relative to the config file."""
    cmd = [str(Path(sys.executable).parent / "diamond-train"), "-c", str(ROOT / "configs/diamond/tiny.yaml"), *args]
    env = os.environ | {"PYTHONHASHSEED": "0"} | ({"MASTER_PORT": port} if port else {})
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)


def test_denoiser_overfits_a_batch():
    torch.manual_seed(0)
    denoiser = Agent(TINY_AGENT).denoiser
    blocky = torch.nn.functional.interpolate(torch.rand(20, 3, 4, 4) * 2 - 1, size=64, mode="nearest")
    obs = blocky.view(4, 5, 3, 64, 64)  # frames with structure, like game screens
    act, mask = torch.randint(0, 4, (4, 5)), torch.ones(4, 5, dtype=torch.bool)
    optimizer = torch.optim.Adam(denoiser.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        torch.manual_seed(1)  # the same noise every step: a fixed objective
        loss = denoiser.loss(obs, act, mask, SigmaDistribution())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]  # measured: 1.33 -> 0.35


def test_denoiser_loss_skips_padding_and_conditions_on_the_past_actions():
    torch.manual_seed(0)
    denoiser = Agent(TINY_AGENT).denoiser
    with torch.no_grad():
        for p in denoiser.parameters():  # random weights everywhere (some layers start at zero)
            p.normal_(0, 0.1)
    n = TINY_AGENT.denoiser.inner_model.num_steps_conditioning
    obs, act = torch.rand(4, n + 1, 3, 64, 64) * 2 - 1, torch.randint(0, 4, (4, n + 1))
    mask = torch.ones(4, n + 1, dtype=torch.bool)
    mask[2:, -1] = False  # two segments whose target step is padding

    def loss(obs, act) -> float:
        torch.manual_seed(1)
        return denoiser.loss(obs, act, mask, SigmaDistribution()).item()

    garbage, later, earlier = obs.clone(), act.clone(), act.clone()
    garbage[2:, -1] = 50.0
    later[:, -1] = (later[:, -1] + 1) % 4  # the action taken at the predicted frame: not a cause of it
    earlier[:, -2] = (earlier[:, -2] + 1) % 4  # the action that led to it
    assert loss(garbage, act) == loss(obs, act)
    assert loss(obs, later) == loss(obs, act) != loss(obs, earlier)


def test_rew_end_model_overfits_a_batch():
    torch.manual_seed(0)
    model = Agent(TINY_AGENT).rew_end_model
    obs = torch.rand(4, 7, 3, 64, 64) * 2 - 1
    act = torch.randint(0, 4, (4, 6))
    rew = (act == 1).float()  # a reward the model can learn: FIRE pays
    end = torch.zeros(4, 6, dtype=torch.long)
    end[:, -1] = 1
    mask = torch.ones(4, 6, dtype=torch.bool)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = model.loss(obs, act, rew, end, mask).item()
    for _ in range(30):
        loss = model.loss(obs, act, rew, end, mask)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.5 * first  # measured: 1.82 -> 0.50


def test_lambda_returns_by_hand():
    rew = torch.tensor([[1.0, 0.0, 2.0]])
    end = torch.tensor([[0, 0, 1]])
    trunc = torch.zeros(1, 3, dtype=torch.long)
    bootstrap = torch.tensor([[0.25, 9.0, 123.0]])  # value of the frame after each step
    gamma, lam = 0.9, 0.5
    r2 = 1.0  # the episode ends here: the reward's sign, and no bootstrap from 123
    r1 = 0.0 + gamma * ((1 - lam) * 9.0 + lam * r2)
    r0 = 1.0 + gamma * ((1 - lam) * 0.25 + lam * r1)
    got = lambda_returns(rew, end, trunc, bootstrap, gamma, lam)
    assert torch.allclose(got, torch.tensor([[r0, r1, r2]]))

    no_end, trunc = torch.zeros(1, 3, dtype=torch.long), torch.tensor([[0, 1, 0]])
    r2 = 1.0 + gamma * 123.0  # the rollout's last step: all bootstrap
    r1 = 0.0 + gamma * 9.0  # cut by the horizon: the whole bootstrap, nothing from the next episode
    r0 = 1.0 + gamma * ((1 - lam) * 0.25 + lam * r1)
    got = lambda_returns(rew, no_end, trunc, bootstrap, gamma, lam)
    assert torch.allclose(got, torch.tensor([[r0, r1, r2]]))


def test_actor_critic_loss_by_hand():
    """REINFORCE on (return - value), value regression, minus an entropy bonus; one-step returns (lambda 0)."""
    logits = torch.tensor([[[math.log(3), 0.0]] * 2])  # probabilities 0.75, 0.25 at both steps
    act, rew = torch.tensor([[0, 1]]), torch.tensor([[1.0, 0.0]])
    no = torch.zeros(1, 2, dtype=torch.long)
    val, bootstrap = torch.tensor([[0.5, 0.2]]), torch.tensor([[0.3, 0.4]])
    cfg = ActorCriticLossConfig(gamma=0.9, lambda_=0.0, weight_value_loss=2.0, weight_entropy_loss=0.1)
    returns = [1 + 0.9 * 0.3, 0 + 0.9 * 0.4]
    advantages = [returns[0] - 0.5, returns[1] - 0.2]
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    expected = (
        (-math.log(0.75) * advantages[0] - math.log(0.25) * advantages[1]) / 2
        + 2.0 * (advantages[0] ** 2 + advantages[1] ** 2) / 2
        - 0.1 * entropy
    )
    loss = ActorCritic(TINY_AGENT.actor_critic).loss(act, rew, no, no, logits, val, bootstrap, cfg)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


class CountingSampler:
    """Stands in for the denoiser: the next frame is the last one plus 1."""

    denoiser = SimpleNamespace(device=torch.device("cpu"))

    def sample(self, obs, act):
        return obs[:, -1] + 1, []


class NeverEnds:
    """A reward/end model that always says reward 0, not ended, and records the actions it is shown."""

    def __init__(self):
        self.actions = []

    def predict_rew_end(self, obs, act, next_obs, hidden=None):
        self.actions.append(act.clone())
        b, t = act.shape
        rew, end = torch.tensor([-1e9, 1e9, -1e9]), torch.tensor([1e9, -1e9])
        return rew.expand(b, t, 3), end.expand(b, t, 2), (torch.zeros(1, b, 4), torch.zeros(1, b, 4))


def test_imagination_cuts_at_the_horizon_and_rewards_the_action_taken():
    rew_end = NeverEnds()
    starts = lambda n: (torch.zeros(n, 4, 3, 8, 8), torch.full((n, 4), 7))  # noqa: E731
    env = WorldModelEnv(CountingSampler(), rew_end, starts, num_envs=2, horizon=3)
    assert env.reset().unique().tolist() == [0.0]
    for step, action in enumerate((2, 3, 1), start=1):
        calls = len(rew_end.actions)
        obs, rew, end, trunc, info = env.step(torch.tensor([action, action]))
        assert rew_end.actions[calls].tolist() == [[action], [action]]  # the action just taken, not the previous one
        assert rew.tolist() == [0, 0] and end.tolist() == [0, 0]
        assert trunc.tolist() == ([1, 1] if step == 3 else [0, 0])  # exactly `horizon` imagined steps
    assert info["final_observation"].unique().tolist() == [3.0] and obs.unique().tolist() == [0.0]  # restarted


@pytest.fixture
def tiny_trainer(tmp_path):
    from challenges.diamond.train import parse_config
    from worldmodels.diamond.train import Trainer

    cfg, _ = parse_config(["-c", str(ROOT / "configs/diamond/tiny.yaml"), "--run_dir", str(tmp_path / "run")])
    return Trainer(cfg)


def test_a_config_file_names_the_agent_config_relative_to_itself(tmp_path, monkeypatch):
    from challenges.diamond.train import parse_config

    monkeypatch.chdir(tmp_path)  # the repo's configs/ is not below the working directory
    cfg, _ = parse_config(["-c", str(ROOT / "configs/diamond/tiny.yaml")])
    assert cfg.agent_config == ROOT / "configs/diamond/tiny_agent.yaml"
    (tmp_path / "mine.yaml").write_text((ROOT / "configs/diamond/tiny_agent.yaml").read_text())
    cfg, _ = parse_config(["-c", str(ROOT / "configs/diamond/tiny.yaml"), "--agent_config", "mine.yaml"])
    assert cfg.agent_config == tmp_path / "mine.yaml"  # on the command line: relative to the working directory


def test_reward_end_segments_may_run_past_an_episode_end(tiny_trainer, monkeypatch):
    """The end of an episode must be able to sit anywhere in a segment, so segments run past ends."""
    import worldmodels.diamond.train as train

    tiny_trainer._collect(60)
    requested, sample = [], train.sample_segments

    def recording_sample(dataset, rng, batch, length, weights=None, beyond_end=False):
        requested.append((length, beyond_end))
        return sample(dataset, rng, batch, length, weights, beyond_end)

    monkeypatch.setattr(train, "sample_segments", recording_sample)
    tiny_trainer._rew_end_model_loss()
    assert requested == [(5 + 4 + 1, True)]  # imagination horizon + conditioning frames + 1


def test_autoregressive_steps_condition_later_frames_on_the_models_own_predictions(tiny_trainer, monkeypatch):
    from worldmodels.core.errors import UserError
    from worldmodels.diamond.denoiser import Denoiser
    from worldmodels.diamond.train import Trainer

    tiny_trainer._collect(60)
    tiny_trainer.cfg = dataclasses.replace(tiny_trainer.cfg, num_autoregressive_steps=3)
    seen, model_output = [], Denoiser.model_output

    def recording_output(self, noisy, obs, act, cs, sigma_cond=None):
        seen.append(obs.clone())
        return model_output(self, noisy, obs, act, cs, sigma_cond)

    monkeypatch.setattr(Denoiser, "model_output", recording_output)
    tiny_trainer._denoiser_loss()
    assert len(seen) == 3  # segments of 4 conditioning + 3 next frames: three predictions
    n, c = 4, 3
    # the second prediction's newest conditioning frame is the first prediction, not the real frame
    first_prediction = seen[1][:, (n - 1) * c :]
    assert torch.equal(seen[1][:, : (n - 1) * c], seen[0][:, c:])  # the real frames slide along
    assert torch.equal(seen[2][:, (n - 2) * c : (n - 1) * c], first_prediction)
    with pytest.raises(UserError, match="--num_autoregressive_steps 0: must be at least 1"):
        Trainer(dataclasses.replace(tiny_trainer.cfg, num_autoregressive_steps=0, run_dir=tiny_trainer.run_dir / "x"))


def test_context_noise_blurs_only_the_conditioning_frames_by_at_most_its_level(tiny_trainer, monkeypatch):
    from worldmodels.core.errors import UserError
    from worldmodels.diamond.denoiser import Denoiser
    from worldmodels.diamond.train import Trainer

    seen, model_output = [], Denoiser.model_output

    def recording_output(self, noisy, obs, act, cs, sigma_cond=None):
        seen.append(obs.clone())
        return model_output(self, noisy, obs, act, cs, sigma_cond)

    monkeypatch.setattr(Denoiser, "model_output", recording_output)
    monkeypatch.setattr(Trainer, "_batch", lambda self, *args, **kwargs: batch)
    torch.manual_seed(0)
    n = 4
    batch = {
        "obs": torch.rand(64, n + 1, 3, 64, 64) * 2 - 1,
        "act": torch.randint(0, 4, (64, n + 1)),
        "mask": torch.ones(64, n + 1, dtype=torch.bool),
    }
    clean = batch["obs"][:, :n].flatten(1, 2)
    tiny_trainer._denoiser_loss()
    assert torch.equal(seen[-1], clean)  # off by default
    tiny_trainer.cfg = dataclasses.replace(tiny_trainer.cfg, context_noise=0.2)
    tiny_trainer._denoiser_loss()
    spread = (seen[-1] - clean).flatten(1).std(dim=1)  # one noise level per segment
    assert spread.max() < 0.2 * 1.02 and spread.min() < 0.05 and spread.mean() == pytest.approx(0.1, abs=0.02)
    with pytest.raises(UserError, match="--context_noise -1.0: must be 0 or more"):
        Trainer(dataclasses.replace(tiny_trainer.cfg, context_noise=-1.0, run_dir=tiny_trainer.run_dir / "x"))


def test_policy_memory_is_burned_in_on_a_new_imagined_start(tiny_trainer, monkeypatch):
    trainer, ac = tiny_trainer, tiny_trainer.agent.actor_critic
    loss_cfg = dataclasses.replace(trainer.cfg.actor_critic_loss, backup_every=1)
    trainer.cfg = dataclasses.replace(trainer.cfg, actor_critic_loss=loss_cfg)
    obs, burnin = torch.rand(2, 3, 64, 64) * 2 - 1, torch.rand(1, 3, 3, 64, 64) * 2 - 1
    trainer.imagination = {"obs": obs, "hx_cx": ac.initial_state(2)}

    def env_0_ends(act):
        info = {"final_observation": torch.zeros(1, 3, 64, 64), "burnin_obs": burnin}
        return torch.zeros(2, 3, 64, 64), torch.zeros(2), torch.tensor([1, 0]), torch.zeros(2, dtype=torch.long), info

    monkeypatch.setattr(trainer.wm_env, "step", env_0_ends)
    trainer._actor_critic_loss()
    hx = trainer.imagination["hx_cx"][0]
    with torch.no_grad():
        fresh = ac.initial_state(1)
        for i in range(burnin.size(1)):  # the frames before the new start, from an empty memory
            _, _, fresh = ac.predict_act_value(burnin[:, i], fresh)
        _, _, going_on = ac.predict_act_value(obs[1:], ac.initial_state(1))
    assert torch.allclose(hx[0], fresh[0][0], atol=1e-5) and torch.allclose(hx[1], going_on[0][0], atol=1e-5)


def test_tiny_training_run_resumes_exactly_and_plays(tmp_path):
    straight = diamond_train("--run_dir", "straight", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr
    first = diamond_train("--run_dir", "resumed", "--num_epochs", "1", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = diamond_train("--run_dir", "resumed", cwd=tmp_path)
    assert again.returncode == 2 and "pass --resume" in again.stderr
    second = diamond_train("--run_dir", "resumed", "--resume", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "resumed" in second.stdout

    versions = tmp_path / "straight/checkpoints/agent_versions"
    assert sorted(p.name for p in versions.glob("*.pt")) == ["agent_epoch_00001.pt", "agent_epoch_00002.pt"]
    a = torch.load(versions / "agent_epoch_00002.pt")
    b = torch.load(tmp_path / "resumed/checkpoints/agent_versions/agent_epoch_00002.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    before = torch.load(versions / "agent_epoch_00001.pt")
    assert not torch.equal(before["denoiser.inner_model.conv_in.weight"], a["denoiser.inner_model.conv_in.weight"])

    dataset = EpisodeDataset(tmp_path / "straight/dataset")
    assert 50 < dataset.num_steps <= 170  # 170 steps collected; the episode in progress is not stored yet
    metrics = (next((tmp_path / "straight/csv").glob("*/metrics.csv"))).read_text()
    assert "denoiser/loss" in metrics and "eval/return" in metrics
    assert list((tmp_path / "straight/tensorboard").glob("*/events.out.tfevents.*"))
    # the resumed run has one CSV log with every epoch, as the straight run
    assert [p.parent.name for p in (tmp_path / "resumed/csv").glob("*/metrics.csv")] == ["version_0"]
    header = metrics.splitlines()[0].split(",")
    resumed = (tmp_path / "resumed/csv/version_0/metrics.csv").read_text().splitlines()
    assert [dict(zip(header, row.split(",")))["step"] for row in resumed[1:]] == ["1", "2"], resumed
    assert len(resumed) == len(metrics.splitlines())
    agent = load_agent(versions / "agent_epoch_00002.pt")  # the config.yaml beside it gives the architecture
    assert agent.cfg.denoiser.inner_model.channels == [8, 8, 8, 8]


def test_resume_without_a_run_is_a_clear_error(tmp_path):
    result = diamond_train("--run_dir", "nothing", "--resume", cwd=tmp_path)
    assert result.returncode == 2
    assert "nothing to resume" in result.stderr


def test_two_processes_train_one_agent_on_their_own_games(tmp_path):
    """Data parallel on two CPU processes: separate datasets, averaged gradients, so both copies stay equal."""
    port = str(20000 + os.getpid() % 20000)
    result = diamond_train("--run_dir", "ddp", "--accelerator", "cpu", "--devices", "2", cwd=tmp_path, port=port)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "ddp"
    first, second = EpisodeDataset(run / "dataset"), EpisodeDataset(run / "dataset_rank1")
    assert len(first) > 0 and len(second) > 0
    assert not np.array_equal(first[0].obs, second[0].obs), "both processes played the same game"
    states = [torch.load(run / "checkpoints" / name, weights_only=False) for name in ("state.pt", "state_rank1.pt")]
    assert states[0]["epoch"] == states[1]["epoch"] == 2
    for name, tensor in states[0]["agent"].items():
        assert torch.equal(tensor, states[1]["agent"][name]), f"{name} differs between the processes"
    saved = load_agent(run / "checkpoints/agent_versions/agent_epoch_00002.pt").state_dict()
    assert all(torch.equal(saved[k], v.cpu()) for k, v in states[0]["agent"].items())
    alone = diamond_train("--run_dir", "ddp", "--resume", "--num_epochs", "3", cwd=tmp_path)
    assert alone.returncode == 2
    assert alone.stderr.strip().endswith("the run was started with --devices 2; resume it with as many")


def test_fp16_loss_scaling_is_refused_in_one_line(tmp_path):
    result = diamond_train("--run_dir", "fp16", "--precision", "16-mixed", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --precision 16-mixed: fp16 loss scaling is not supported; use 32-true or bf16-mixed"
    ]


@pytest.mark.parametrize("bad", ["--denoiser.batch_size=many", "--no_such_option=1"])
def test_bad_options_are_rejected(bad, capsys):
    from challenges.diamond.train import main

    with pytest.raises(SystemExit) as exit_info:
        main(["-c", str(ROOT / "configs/diamond/tiny.yaml"), bad])
    assert exit_info.value.code != 0
    assert "error" in capsys.readouterr().err.lower()


def recorded_breakout(folder: Path, steps: int = 150) -> EpisodeDataset:
    """Real Breakout episodes played at random, stored as ``diamond-play -r`` stores a person's play."""
    from worldmodels.diamond.play import collect_starts
    from worldmodels.envs.atari import DiamondAtari

    recordings = EpisodeDataset(folder / "rec_real_H")
    agent = Agent(TINY_AGENT)
    collect_starts(agent, DiamondAtari("Breakout", done_on_life_loss=True, seed=5), steps, recordings)
    return recordings


def test_training_from_recorded_play_learns_only_from_it_and_the_model_plays(tmp_path):
    recordings = recorded_breakout(tmp_path / "recorded")
    result = diamond_train(
        "--run_dir", "mine", "--data", "recorded", "--num_epochs", "1", "--evaluation.every", "0",
        "--collect.first_epoch_min", "0", "--collect.num_steps_total", "0", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"{len(recordings)} recorded episodes, {recordings.num_steps} steps" in result.stdout
    dataset = EpisodeDataset(tmp_path / "mine/dataset")
    assert len(dataset) == len(recordings), "nothing collected beside the recordings"
    assert all(np.array_equal(dataset[i].obs, recordings[i].obs) for i in range(len(dataset)))
    metrics = next((tmp_path / "mine/csv").glob("*/metrics.csv")).read_text()
    assert "denoiser/loss" in metrics and "rew_end_model/loss" in metrics

    checkpoint = tmp_path / "mine/checkpoints/agent_versions/agent_epoch_00001.pt"
    play = [str(Path(sys.executable).parent / "diamond-play"), "--checkpoint", str(checkpoint), "--game", "Breakout"]
    play += ["--headless", "--frames", "8", "--out", "mine.mp4", "-n", "60"]
    played = subprocess.run(
        play, cwd=tmp_path, capture_output=True, text=True, env=os.environ | {"SDL_VIDEODRIVER": "dummy"}
    )
    assert played.returncode == 0, played.stderr
    from worldmodels.core.video import read_frames

    assert len(read_frames(tmp_path / "mine.mp4")) == 8


def test_bad_recordings_are_refused_in_one_line_and_nothing_is_copied(tmp_path):
    from worldmodels.core.errors import UserError
    from worldmodels.diamond.recorded import import_recorded

    good = recorded_breakout(tmp_path / "good")[0]
    bad = {
        "short actions": dataclasses.replace(good, act=good.act[:-1]),
        "float actions": dataclasses.replace(good, act=good.act.astype(np.float32)),
        "big frames": dataclasses.replace(
            good, obs=np.zeros((len(good), 84, 84, 3), np.uint8), final_obs=np.zeros((84, 84, 3), np.uint8)
        ),  # fmt: skip
        "unknown action": dataclasses.replace(good, act=np.full_like(good.act, 9)),
    }
    expected = {
        "short actions": "act has shape",
        "float actions": "actions must be integers",
        "big frames": "frames are 84x84x3, the model takes 64x64x3",
        "unknown action": "outside this game's 0..3",
    }
    for name, episode in bad.items():
        folder = tmp_path / name.replace(" ", "_")
        EpisodeDataset(folder).add(good)
        path = episode.save(folder / "episode_000001.npz")
        target = EpisodeDataset(tmp_path / f"run_{folder.name}")
        with pytest.raises(UserError, match=expected[name]) as refused:
            import_recorded(folder, target, (64, 64, 3), 4)
        assert str(path) in str(refused.value) and "\n" not in str(refused.value)
        assert len(target) == 0, "a bad folder must leave the run untouched"
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no episode files"):
        import_recorded(tmp_path / "empty", EpisodeDataset(tmp_path / "run"), (64, 64, 3), 4)


def test_a_gymnasium_game_with_other_frames_and_actions_trains_and_plays(tmp_path):
    """CartPole: 400x600 frames (resized to 64x64), 2 actions, no lives; the keys 1 and 2 pick its actions."""
    result = diamond_train("--game", "CartPole-v1", "--run_dir", "cartpole", "--num_epochs", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    dataset = EpisodeDataset(tmp_path / "cartpole/dataset")
    assert dataset[0].obs.shape[1:] == (64, 64, 3) and set(np.unique(dataset[0].act)) <= {0, 1}
    assert dataset[0].end[-1] or dataset[0].trunc[-1]
    checkpoint = tmp_path / "cartpole/checkpoints/agent_versions/agent_epoch_00001.pt"
    assert load_agent(checkpoint).cfg.num_actions == 2

    play = [str(Path(sys.executable).parent / "diamond-play"), "--checkpoint", str(checkpoint)]
    play += ["--game", "CartPole-v1", "--headless", "--frames", "6", "--out", "cartpole.mp4", "-n", "40"]
    played = subprocess.run(
        play, cwd=tmp_path, capture_output=True, text=True, env=os.environ | {"SDL_VIDEODRIVER": "dummy"}
    )
    assert played.returncode == 0, played.stderr
    from worldmodels.core.video import read_frames

    assert len(read_frames(tmp_path / "cartpole.mp4")) == 6


def test_gymnasium_games_keep_their_state_across_a_resume_and_bad_ones_are_refused():
    from worldmodels.core.errors import UserError
    from worldmodels.diamond.games import make_game

    game = make_game("CartPole-v1", seed=0)
    game.reset()
    for _ in range(3):
        game.step(1)
    state = game.get_state()
    ahead = [game.step(0)[0] for _ in range(4)]
    again = make_game("CartPole-v1", seed=7)
    again.set_state(state)
    assert all(np.array_equal(a, b) for a, b in zip(ahead, [again.step(0)[0] for _ in range(4)]))
    keymap = game.keymap()
    assert keymap(set()) == 0 and keymap({"2"}) == 1 and keymap({"2", "1"}) == 0 and keymap({"3"}) == 0
    with pytest.raises(UserError, match="discrete action space"):
        make_game("Pendulum-v1")
    with pytest.raises(UserError, match="nor a gymnasium environment id"):
        make_game("NoSuchGame-v0")


def test_the_breakout_tracker_plays_the_game_and_only_breakout(tmp_path):
    from worldmodels.core.errors import UserError
    from worldmodels.diamond.collect import Collector
    from worldmodels.diamond.games import make_game, scripted_player

    returns, small = {}, Path(__file__).parents[1] / "configs/diamond/breakout_small_agent.yaml"
    for policy, epsilon in (("breakout_tracker", 0.0), ("agent", 1.0)):  # the agent at epsilon 1: random play
        env = make_game("Breakout", done_on_life_loss=True, seed=0)
        agent = Agent(AgentConfig.from_yaml(small).with_num_actions(4))
        dataset = EpisodeDataset(tmp_path / policy)
        collector = Collector(agent.actor_critic, env, dataset, epsilon, 0, scripted_player(policy, env))
        returns[policy] = sum(collector.collect(1000, quiet=True))
        assert len(dataset) > 0
    # measured over 1500 steps: 58 points (it serves and returns the ball) against 10 for random play
    assert returns["breakout_tracker"] > 3 * max(returns["agent"], 1), returns
    with pytest.raises(UserError, match="'chase' is not one of agent, breakout_tracker"):
        scripted_player("chase", env)
    with pytest.raises(UserError, match="reads an Atari game's memory; CartPole-v1 is not one"):
        scripted_player("breakout_tracker", make_game("CartPole-v1"))
    with pytest.raises(UserError, match="plays Breakout only"):
        scripted_player("breakout_tracker", make_game("Pong"))


def test_the_breakout_screen_check_tells_the_game_from_a_smeared_frame():
    import cv2

    from worldmodels.diamond.games import make_game
    from worldmodels.envs.breakout_screen import PADDLE_ROWS, objects_kept

    env = make_game("Breakout", seed=3)
    real = env.reset()
    for _ in range(20):
        real, *_ = env.step(1)
    assert objects_kept(real, real) == {"paddle": True, "bricks": True, "walls": True, "score": True}
    no_paddle = real.copy()
    no_paddle[PADDLE_ROWS] = 0
    assert objects_kept(no_paddle, real) == {"paddle": False, "bricks": True, "walls": True, "score": True}
    faded = (real.astype(int) // 2 + 40).astype(np.uint8)  # the colours of a drifted rollout: washed out
    assert objects_kept(faded, real) | {"paddle": False} == dict.fromkeys(("paddle", "bricks", "walls", "score"), False)
    blurred = cv2.blur(real, (5, 5))  # a smeared paddle, speckled walls
    assert not objects_kept(blurred, real)["paddle"] and not objects_kept(blurred, real)["walls"]


def tracker_episode(rng: np.random.Generator, length: int = 40):
    """Frames of a Breakout-like scene recorded with a tracker's actions: a fixed textured background, a
    paddle at the bottom and a 2x2 ball; FIRE without a ball, else move the paddle towards the ball (the
    action is told by where two small objects are, as in Breakout, not by the whole frame)."""
    from worldmodels.data.episodes import Episode

    background = (np.random.default_rng(1).random((64, 64, 3)) * 200).astype(np.uint8)
    obs, act = np.repeat(background[None], length, 0), np.zeros(length, np.int64)
    for t in range(length):
        paddle_x = rng.integers(0, 56)
        obs[t, 60:62, paddle_x : paddle_x + 8] = 255
        if rng.random() < 0.1:
            act[t] = 1  # FIRE: no ball in play
            continue
        ball_x, ball_y = rng.integers(0, 62), rng.integers(10, 55)
        obs[t, ball_y : ball_y + 2, ball_x : ball_x + 2] = 255
        offset = ball_x - (paddle_x + 3)
        act[t] = 2 if offset > 3 else 3 if offset < -3 else 0
    zeros = np.zeros(length)
    return Episode.from_steps(list(obs), list(act), zeros, zeros, zeros, obs[-1])


@pytest.mark.parametrize("readout", [True, False])
def test_behaviour_cloning_learns_a_trackers_actions_thanks_to_its_readout(tiny_trainer, readout):
    """Cloning must learn the tracker's rule, which the untrained actor (uniform policy) does not know; with its
    per-frame read-out frozen at zero (the encoder taught through the LSTM only) it stays near the commonest
    action (about 0.4) in as many steps: the read-out is what makes it learn."""
    from worldmodels.diamond.train import OptimConfig, make_optimizer, warmup_schedule

    trainer, rng = tiny_trainer, np.random.default_rng(0)
    for _ in range(8):
        trainer.dataset.add(tracker_episode(rng))
    trainer.cfg = dataclasses.replace(
        trainer.cfg, clone=dataclasses.replace(trainer.cfg.clone, batch_size=8, optim=OptimConfig(lr=3e-3))
    )
    if not readout:
        trainer.clone_readout.weight.data.zero_()
        trainer.clone_readout.weight.requires_grad_(False)
    trainer.optimizers["clone"] = make_optimizer(trainer.trained["clone"], trainer.cfg.clone.optim)
    trainer.schedulers["clone"] = warmup_schedule(trainer.optimizers["clone"], 10)

    def accuracy() -> float:
        test = tracker_episode(rng, 200)
        obs = torch.from_numpy(test.obs).movedim(-1, 1).float() / 127.5 - 1
        ac, hx_cx, right = trainer.agent.actor_critic, trainer.agent.actor_critic.initial_state(1), 0
        with torch.no_grad():
            for frame, action in zip(obs, test.act):
                logits, _, hx_cx = ac.predict_act_value(frame[None], hx_cx)
                right += int(logits.argmax()) == action
        return right / len(test.act)

    before = accuracy()
    for _ in range(100):
        trainer._train_step("clone")
    after = accuracy()
    assert before < 0.3 and (after > 0.65 if readout else after < 0.55), (before, after)
    assert trainer.agent.actor_critic.critic_linear.weight.abs().sum() == 0  # cloning trains the policy only


def test_resuming_with_another_learning_rate_continues_at_it(tiny_trainer):
    """Fine-tuning at a lower rate: the resumed schedule keeps its step but takes the rate now configured."""
    from worldmodels.diamond.train import Trainer

    trainer = tiny_trainer
    for _ in range(3):
        trainer.schedulers["denoiser"].step()  # the saved schedule is part-way through its warm-up
    trainer.save()
    slower = dataclasses.replace(trainer.cfg.denoiser, optim=dataclasses.replace(trainer.cfg.denoiser.optim, lr=1e-5))
    resumed = Trainer(dataclasses.replace(trainer.cfg, denoiser=slower), resume=True)
    warmup = trainer.cfg.denoiser.optim.warmup_steps
    expected = 1e-5 * min(1.0, 4 / warmup)
    assert resumed.optimizers["denoiser"].param_groups[0]["lr"] == pytest.approx(expected)
    assert resumed.schedulers["denoiser"].last_epoch == 3
    same = Trainer(trainer.cfg, resume=True)  # unchanged config: exactly the saved rates
    lrs = [t.optimizers[name].param_groups[0]["lr"] for t in (same, trainer) for name in ("denoiser", "rew_end_model")]
    assert lrs[:2] == lrs[2:]
