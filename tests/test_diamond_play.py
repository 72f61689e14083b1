import copy
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from worldmodels.core.video import read_frames
from worldmodels.data.episodes import Episode, EpisodeDataset
from worldmodels.diamond import Agent, AgentConfig
from worldmodels.diamond.play import DiamondBackend, collect_starts
from worldmodels.envs.atari import DiamondAtari
from worldmodels.play.backend import InputState
from worldmodels.play.dataset_viewer import DatasetViewer

TINY = Path(__file__).resolve().parents[1] / "configs" / "diamond" / "tiny_agent.yaml"


@pytest.fixture(scope="module")
def tiny_agent():
    """A tiny agent whose policy head is set, as any training of its actor leaves it: a policy plays."""
    torch.manual_seed(0)
    agent = Agent(AgentConfig.from_yaml(TINY).with_num_actions(4)).eval()
    torch.nn.init.normal_(agent.actor_critic.actor_linear.weight, std=0.1)
    return agent


@pytest.fixture(scope="module")
def starts(tiny_agent, tmp_path_factory):
    dataset = EpisodeDataset(tmp_path_factory.mktemp("starts"))
    collect_starts(tiny_agent, DiamondAtari("Breakout", seed=0), 60, dataset)
    return dataset


def test_atari_preprocessing_matches_diamond():
    env = DiamondAtari("Breakout", done_on_life_loss=True, seed=0)
    obs = env.reset()
    assert obs.shape == (64, 64, 3) and obs.dtype == np.uint8
    assert env.action_meanings == ["NOOP", "FIRE", "RIGHT", "LEFT"]
    lives_before, episodes, rng = env.lives, 0, np.random.default_rng(0)
    for _ in range(400):
        obs, rew, end, trunc, info = env.step(int(rng.integers(4)))
        if end:
            assert info["life_loss"]  # the train env ends on a lost life...
            episodes += 1
            env.reset()
            break
    assert episodes == 1 and not env.game_over and env.lives == lives_before - 1  # ...and the game goes on


def test_collected_starts_are_real_episodes(starts):
    assert starts.num_steps == 60
    episode = starts[0]
    assert episode.obs.shape[1:] == (64, 64, 3) and set(np.unique(episode.act)) <= {0, 1, 2, 3}
    assert episode.end[-1] or episode.trunc[-1]


def test_backend_modes_keys_and_horizon(tiny_agent, starts, tmp_path):
    backend = DiamondBackend(tiny_agent, "Breakout", starts, horizon=3, record_root=tmp_path)
    frame = backend.reset()
    assert frame.shape == (64, 64, 3)
    step = backend.step(None)  # the policy plays
    assert step.info["control"] == "policy" and step.info["entropy"] != "-"
    assert backend.action(InputState(frozenset({"space"}))) is None  # keys are ignored under the policy
    assert backend.on_key("m") and backend.human
    assert backend.action(InputState(frozenset({"a"}))) == 3
    backend.reset()
    assert backend.on_key("up") and backend.wm.horizon == 4
    backend.reset()
    lengths = []
    for _ in range(12):
        step = backend.step(0)
        if step.done:
            lengths.append(step.info["timestep"])
            backend.reset()
    assert lengths and max(lengths) <= 4  # imagination is cut at the horizon
    assert backend.on_key("right") and backend.env_name == "test"
    backend.reset()
    assert backend.step(1).info["horizon"] == "-"
    assert backend.on_key("left") and backend.on_key("left") and backend.env_name == "train"
    assert not backend.on_key("x")
    recorded = sorted(tmp_path.glob("rec_wm_*/episode_*.npz"))
    assert recorded and Episode.load(recorded[0]).obs.shape[1:] == (64, 64, 3)


def test_an_untrained_policy_is_called_random_and_plays_at_random(tiny_agent, starts, tmp_path):
    """An actor that never trained (its policy head still zero, a world-model-only run): the header must not
    claim a policy plays."""
    untrained = copy.deepcopy(tiny_agent)
    untrained.actor_critic.actor_linear.weight.data.zero_()
    assert tiny_agent.actor_critic.policy_trained and not untrained.actor_critic.policy_trained
    backend = DiamondBackend(untrained, "Breakout", starts, horizon=1000, record_root=tmp_path)
    backend.reset()
    assert backend.hud()["control"] == "random" and any("random / human" in line for line in backend.help_lines())
    steps = [backend.step(None) for _ in range(40)]
    assert {s.info["control"] for s in steps} == {"random"} and {s.info["entropy"] for s in steps} == {"-"}
    assert len({s.info["action"] for s in steps}) == 4  # every Breakout action, uniformly
    backend.close()
    assert list(tmp_path.glob("rec_wm_rand/episode_*.npz"))


def test_recording_keeps_episodes_left_before_their_end(tiny_agent, starts, tmp_path):
    backend = DiamondBackend(tiny_agent, "Breakout", starts, record_root=tmp_path)
    assert backend.on_key("right") and backend.on_key("m")  # the real game, human control: no end in 5 steps
    backend.reset()
    assert not any(backend.step(0).done for _ in range(5))
    backend.reset()  # Enter: the episode is left unfinished
    assert not any(backend.step(0).done for _ in range(3))
    backend.close()  # quitting
    recorded = EpisodeDataset(tmp_path / "rec_test_H")
    assert [len(e) for e in recorded] == [5, 3]
    assert all(e.trunc[-1] and not e.trunc[:-1].any() and not e.end.any() for e in recorded)


def test_dataset_viewer_scrubs_episodes(tmp_path):
    rng = np.random.default_rng(0)
    for n in (5, 8):
        frames = [np.full((64, 64, 3), t, np.uint8) for t in range(n)]
        EpisodeDataset(tmp_path / "rec").add(
            Episode.from_steps(frames, [0] * n, rng.normal(size=n), [0] * n, [0] * n, frames[-1])
        )
    viewer = DatasetViewer(tmp_path)
    assert viewer.reset()[0, 0, 0] == 0
    assert viewer.step(viewer.action(InputState(frozenset({"right"})))).frame[0, 0, 0] == 1
    viewer.on_key("page down")
    assert viewer.step(viewer.action(InputState())).info["timestep"] == "5/5"  # clipped to the episode
    assert viewer.on_key("up")
    viewer.reset()
    assert viewer.step(0).info["episode"] == "2/2"


def test_headless_cli_plays_a_local_checkpoint(tiny_agent, tmp_path):
    checkpoint = tmp_path / "models" / "Breakout.pt"
    checkpoint.parent.mkdir()
    torch.save(tiny_agent.state_dict(), checkpoint)
    tiny_agent.cfg.save_yaml(checkpoint.with_suffix(".yaml"))
    cmd = [str(Path(sys.executable).parent / "diamond-play"), "--checkpoint", str(checkpoint), "-n", "40"]
    env = os.environ | {"SDL_VIDEODRIVER": "dummy"}
    run = subprocess.run(
        cmd + ["--headless", "--frames", "12", "--out", "run.mp4", "-r"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert read_frames(tmp_path / "run.mp4").shape[0] == 12
    assert EpisodeDataset(tmp_path / "data/diamond/starts/Breakout_Breakout_40").num_steps == 40  # per game
    recorded = EpisodeDataset(tmp_path / "data/diamond/recordings/rec_wm_pi")
    assert recorded.num_steps == 12  # every step, the episode cut short by --frames included
    other_game = subprocess.run(
        cmd + ["--game", "Pong", "--headless", "--frames", "2", "--out", "pong.mp4", "--half"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert other_game.returncode == 2 and "the model has 4 actions and Pong has 6" in other_game.stderr
    assert "--half: half precision is for CUDA GPUs; the model runs in fp32 on cpu" in other_game.stdout
    assert not (tmp_path / "pong.mp4").exists()

    no_model = subprocess.run(cmd[:1], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert no_model.returncode == 2 and "--pretrained [--game NAME] or --checkpoint PATH" in no_model.stderr
    bad_game = subprocess.run(
        cmd[:1] + ["--pretrained", "--game", "Tetris"], cwd=tmp_path, capture_output=True, text=True
    )
    assert bad_game.returncode == 2 and "not an Atari 100k game" in bad_game.stderr


def test_pretrained_downloads_model_and_config_from_the_hub(tiny_agent, tmp_path):
    from hub_server import FakeHub

    checkpoint = tmp_path / "Breakout.pt"
    torch.save(tiny_agent.state_dict(), checkpoint)
    files = {
        "eloialonso/diamond/atari_100k/models/Breakout.pt": checkpoint.read_bytes(),
        "eloialonso/diamond/atari_100k/config/agent/default.yaml": TINY.read_bytes(),
    }
    cmd = [str(Path(sys.executable).parent / "diamond-play"), "--pretrained", "--game", "breakout", "-n", "20"]
    cmd += ["--headless", "--frames", "3", "--out", "wm.mp4"]
    with FakeHub(files) as hub:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        env |= {"SDL_VIDEODRIVER": "dummy", "HF_ENDPOINT": hub.endpoint, "HF_HOME": str(tmp_path / "hf")}
        run = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert read_frames(tmp_path / "wm.mp4").shape[0] == 3
    offline = subprocess.run(
        cmd[:4] + ["--game", "Pong"], cwd=tmp_path, env=env | {"HF_HUB_OFFLINE": "1"}, capture_output=True, text=True
    )
    assert offline.returncode == 2
    assert "atari_100k/models/Pong.pt" in offline.stderr and "not cached" in offline.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["-n", "0"], "-n must be at least 1"),
        (["--num-steps-denoising", "0"], "--num-steps-denoising must be at least 1"),
        (["--game", "csgo", "--size-multiplier", "0"], "--size-multiplier must be at least 1"),
        (["--size", "-1"], "--size must be a positive width"),
        (["--frames", "5"], "--frames and --out go with --headless"),
        (["--headless", "--out", "x.mp4", "--frames", "0"], "--frames must be at least 1"),
    ],
)
def test_bad_numbers_are_refused_before_loading(args, message, capsys):
    from challenges.diamond.play import main

    with pytest.raises(SystemExit) as stopped:
        main(["--checkpoint", "missing.pt", *args])  # the missing file would be the error after loading began
    assert stopped.value.code == 2 and message in capsys.readouterr().err


def test_agent_config_problems_say_what_to_do(tiny_agent, tmp_path):
    from worldmodels.core.errors import UserError
    from worldmodels.diamond import load_agent

    checkpoint = tmp_path / "mine.pt"
    torch.save(tiny_agent.state_dict(), checkpoint)
    with pytest.raises(UserError, match="mine.pt: not the published architecture, and no mine.yaml or config.yaml"):
        load_agent(checkpoint)
    (tmp_path / "binary.yaml").write_bytes(bytes(range(256)))
    with pytest.raises(UserError, match="binary.yaml: not a readable agent config"):
        load_agent(checkpoint, config=tmp_path / "binary.yaml")
    (tmp_path / "other.yaml").write_text("learning_rate: 0.1\n")
    with pytest.raises(UserError, match="other.yaml: an agent config is a mapping with denoiser/rew_end_model"):
        load_agent(checkpoint, config=tmp_path / "other.yaml")
