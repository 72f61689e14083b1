import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from csgo_fixtures import TINY, fixed_inputs, tiny_agent, write_csgo_folder
from golden import frames_match, level_statistics, levels

from worldmodels.core.errors import UserError
from worldmodels.core.video import read_frames
from worldmodels.diamond import load_agent
from worldmodels.diamond.csgo import (
    PRESETS,
    CSGOAgent,
    CSGOConfig,
    CSGOWorldModel,
    Spawn,
    load_csgo_agent,
    load_spawns,
)
from worldmodels.diamond.csgo_actions import MOUSE_X_BINS, MOUSE_Y_BINS, NUM_ACTIONS, CSGOAction
from worldmodels.diamond.csgo_play import CSGOBackend
from worldmodels.play.backend import InputState

# Outputs of the published csgo-branch implementation for the tiny agent and inputs below (CPU, seed 3).
GOLDEN = np.load(Path(__file__).parent / "data" / "csgo_golden.npz")
LISTING = Path(__file__).resolve().parents[2] / "shared" / "reference" / "diamond_state_dict_csgo.txt"


def test_published_sizes():
    with torch.device("meta"):
        agent = CSGOAgent(CSGOConfig())
    assert sum(p.numel() for p in agent.denoiser.parameters()) == 330_489_219
    assert sum(p.numel() for p in agent.upsampler.parameters()) == 51_149_187
    state = agent.state_dict()
    assert len(state) == 573
    assert state["denoiser.inner_model.noise_cond_emb.weight"].shape == (1, 1024)  # the extra buffer
    assert state["upsampler.inner_model.conv_in.weight"].shape == (64, 9, 3, 3)


@pytest.mark.skipif(not LISTING.exists(), reason="../shared/reference is not checked out beside the repo")
def test_names_and_shapes_match_the_published_listing():
    expected = {}
    for line in LISTING.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, shape = line.split()
            expected[name] = tuple(int(s) for s in shape.strip("[]").split(","))
    with torch.device("meta"):
        ours = {k: tuple(v.shape) for k, v in CSGOAgent(CSGOConfig()).state_dict().items()}
    assert ours == expected


def two_stage_levels(preset: str, agent=None, seed: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    obs, act, full = fixed_inputs()
    world_model = CSGOWorldModel(agent or tiny_agent(), preset)
    world_model.reset(Spawn(obs[0], full[0], act[0], act[0, :0], {}))
    torch.manual_seed(seed)
    upsampled, next_obs = world_model.step(act[0, -1].float())  # the spawn's last action, as the golden run
    assert next_obs.shape == (3, 30, 56) and upsampled.shape == (3, 150, 280)
    return levels(next_obs[None]), levels(upsampled[None])


@pytest.mark.golden
@pytest.mark.parametrize("preset", list(PRESETS))
def test_two_stage_sampling_equals_the_published_implementation(preset):
    """Both stages sample with noise (stochastic upsampling): compared by statistics (tests/golden.py)."""
    for ours, name in zip(two_stage_levels(preset), ("next_obs_levels", "full_res_levels")):
        golden = GOLDEN[f"{preset}/{name}"]
        assert frames_match(ours, golden), (name, level_statistics(ours, golden))


@pytest.mark.parametrize("preset", list(PRESETS))
def test_the_golden_comparison_fails_on_other_noise_or_weights(preset):
    agent = tiny_agent()
    with torch.no_grad():
        agent.upsampler.inner_model.conv_out.weight.mul_(1.01)
    broken_weights = two_stage_levels(preset, agent)[1]
    other_noise = two_stage_levels(preset, seed=4)
    assert not frames_match(broken_weights, GOLDEN[f"{preset}/full_res_levels"])
    assert not frames_match(other_noise[0], GOLDEN[f"{preset}/next_obs_levels"])
    assert not frames_match(other_noise[1], GOLDEN[f"{preset}/full_res_levels"])


def test_folder_round_trip_and_world_model_determinism(tmp_path):
    agent = tiny_agent()
    folder = write_csgo_folder(tmp_path, agent)
    loaded = load_csgo_agent(folder)
    assert loaded.cfg == TINY  # read back from the Hydra-style csgo.yaml
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in agent.state_dict().items())
    spawns = load_spawns(folder)
    assert len(spawns) == 2 and spawns[0].low_res.shape == (6, 3, 30, 56) and spawns[0].info["start"] == 0
    frames = []
    for _ in range(2):
        wm = CSGOWorldModel(loaded, "fast")
        wm.reset(spawns[0])
        torch.manual_seed(7)
        frames.append(torch.stack([wm.step(spawns[0].next_act[i].float())[0] for i in range(2)]))
    assert frames[0].shape == (2, 3, 150, 280) and torch.equal(frames[0], frames[1])


def test_load_agent_takes_the_csgo_folder_or_file(tmp_path):
    agent = tiny_agent()
    folder = write_csgo_folder(tmp_path, agent)
    for source in (folder, folder / "model" / "csgo.pt"):
        loaded = load_agent(source)
        assert isinstance(loaded, CSGOAgent) and loaded.cfg == TINY  # the folder's config, also for the file
        assert torch.equal(loaded.upsampler.state_dict()["inner_model.conv_in.weight"],
                           agent.upsampler.state_dict()["inner_model.conv_in.weight"])  # fmt: skip


def save_npy(path: Path, array) -> None:
    with open(path, "wb") as f:  # np.save would add ".npy" to a name without it
        np.save(f, array)


BAD_SPAWNS = {
    "garbage bytes": ("low_res.npy", b"not an array", "low_res.npy: not a readable .npy array"),
    "channels last": ("low_res.npy", np.zeros((6, 30, 56, 3), np.uint8), r"low_res.npy: expected uint8 frames"),
    "float frames": ("full_res.npy", np.zeros((6, 3, 150, 280), np.float32), r"got float32 \(6, 3, 150, 280\)"),
    "too few frames": ("low_res.npy", np.zeros((2, 3, 30, 56), np.uint8), r"shape \(t >= 4, 3, 30, 56\)"),
    "1-D actions": ("next_act.npy", np.zeros(4, np.int64), r"next_act.npy: expected actions of shape \(n, 51\)"),
    "act rows": ("act.npy", np.zeros((5, 51), np.int64), r"act.npy: expected actions of shape \(6, 51\)"),
    "broken info": ("info.json", b"{bad", "info.json: not readable JSON"),
}


@pytest.mark.parametrize("case", list(BAD_SPAWNS))
def test_bad_spawn_files_are_one_line_errors(tmp_path, case):
    folder = write_csgo_folder(tmp_path, tiny_agent(), num_spawns=1)
    name, content, message = BAD_SPAWNS[case]
    path = folder / "spawn" / "0" / name
    path.write_bytes(content) if isinstance(content, bytes) else save_npy(path, content)
    with pytest.raises(UserError, match=message) as error:
        load_spawns(folder)
    assert str(path.parent) in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    "text, message",
    [("denoiser: [1, 2", "not a readable CS:GO agent config"),
     ("denoiser:\n  inner_model:\n    channels: 5\n", "bad model config: denoiser.inner_model.channels must be a list"),
     ("upsampler:\n  inner_model:\n    cond_channels: 1000\n    num_steps_conditioning: 3\n",
      "upsampler.inner_model.cond_channels 1000 is not a multiple of num_steps_conditioning 3"),
     ("denoiser:\n  inner_model:\n    channels: [8, 8]\n", "depths, channels, attn_depths must be equally long")],
)  # fmt: skip
def test_bad_csgo_config_is_a_one_line_error(tmp_path, text, message):
    folder = write_csgo_folder(tmp_path, tiny_agent(), num_spawns=1)
    (folder / "config" / "agent" / "csgo.yaml").write_text(text)
    with pytest.raises(UserError, match=message) as error:
        load_csgo_agent(folder)
    assert "csgo.yaml" in str(error.value) and "\n" not in str(error.value)


def test_missing_files_are_clear_errors(tmp_path):
    folder = write_csgo_folder(tmp_path, tiny_agent())
    (folder / "spawn" / "1" / "act.npy").unlink()
    with pytest.raises(UserError, match=r"spawn/1: spawn folder is missing act.npy"):
        load_spawns(folder)
    with pytest.raises(UserError, match="not a CS:GO folder"):
        from worldmodels.diamond.csgo import csgo_folder

        csgo_folder(tmp_path)
    state = tiny_agent().state_dict()
    del state["upsampler.inner_model.noise_cond_emb.weight"]
    torch.save(state, folder / "model" / "csgo.pt")
    missing = "1 missing: upsampler.inner_model.noise_cond_emb.weight"
    with pytest.raises(UserError, match=r"csgo.pt .*does not match CSGOAgent: " + missing):
        load_csgo_agent(folder)


# The published csgo branch's mouse bins (src/csgo/action_processing.py), in pixels of mouse motion.
PUBLISHED_X_BINS = [-1000, -500, -300, -200, -100, -60, -30, -20, -10, -4, -2, 0, 2, 4, 10, 20, 30, 60, 100, 200, 300,
                    500, 1000]  # fmt: skip
PUBLISHED_Y_BINS = [-200, -100, -50, -20, -10, -4, -2, 0, 2, 4, 10, 20, 50, 100, 200]


def multi_hot(keys=(), left=False, right=False, x=0, y=0) -> torch.Tensor:
    order = ["w", "a", "s", "d", "space", "left ctrl", "left shift", "1", "2", "3", "r"]
    v = torch.zeros(NUM_ACTIONS)
    for k in keys:
        v[order.index(k)] = 1
    v[11], v[12] = float(left), float(right)
    v[13 + PUBLISHED_X_BINS.index(x)] = 1
    v[13 + 23 + PUBLISHED_Y_BINS.index(y)] = 1
    return v


def test_action_encoder():
    assert NUM_ACTIONS == 51
    assert MOUSE_X_BINS == PUBLISHED_X_BINS and MOUSE_Y_BINS == PUBLISHED_Y_BINS
    # The published forbidden combinations: the later-pressed key of each pair is dropped.
    for first, later in [("w", "s"), ("a", "d"), ("1", "2"), ("1", "3"), ("2", "3"), ("3", "1")]:
        assert torch.equal(CSGOAction.from_input((first, later), 0.0, 0.0, False, False).encode(), multi_hot((first,)))
    for first, later, x, y in [("up", "down", 0, -50), ("left", "right", -60, 0)]:
        assert torch.equal(CSGOAction.from_input((first, later), 0.0, 0.0, False, False).encode(), multi_hot(x=x, y=y))
    a = CSGOAction.from_input(("w", "space", "1"), 27.0, -7.0, True, False)
    assert torch.equal(a.encode(), multi_hot(("w", "space", "1"), left=True, x=30, y=-10))  # snapped to bins
    b = CSGOAction.from_input(("s", "w", "d", "a", "2", "3"), 5000.0, 5000.0, False, True)
    assert torch.equal(b.encode(), multi_hot(("s", "d", "2"), right=True, x=1000, y=200))  # later opposite keys dropped
    c = CSGOAction.from_input(("left", "up", "down"), 100.0, 100.0, False, False)
    assert torch.equal(c.encode(), multi_hot((), x=-60, y=-50))  # arrows override the mouse
    assert CSGOAction.decode(a.encode()).encode().equal(a.encode())


def test_backend_human_and_replay(tmp_path):
    folder = write_csgo_folder(tmp_path, tiny_agent())
    backend = CSGOBackend(CSGOWorldModel(load_csgo_agent(folder)), load_spawns(folder), mouse_multiplier=10)
    assert backend.reset().shape == (150, 280, 3)
    action = backend.action(InputState(frozenset({"w"}), 3.0, 0.0, (False, False, False), ("w",), (3.0, 0.0)))
    assert action.mouse_x == 30 and action.keys == ["w"]
    step = backend.step(action)
    assert step.frame.shape == (150, 280, 3) and step.info["keys"] == "up"
    assert backend.on_key("m") and not backend.human
    backend.reset()
    assert backend.spawn_index == 0  # m restarts the same spawn
    fed, world_model_step = [], backend.wm.step
    backend.wm.step = lambda vector: fed.append(vector) or world_model_step(vector)
    steps = [backend.step(backend.action(InputState())) for _ in range(5)]
    spawn = backend.spawn
    # As the original: the spawn's last context action first, then each recorded next action, then the end.
    assert torch.equal(torch.stack(fed), torch.cat((spawn.act[-1:], spawn.next_act)).float())
    assert [s.done for s in steps] == [False] * 4 + [True]
    assert steps[1].info["keys"] == CSGOAction.decode(spawn.next_act[0]).describe()["keys"]
    assert backend.reset() is not None and backend.spawn_index == 1  # Enter / reset: the next spawn


def test_backend_reads_the_last_mouse_event_and_ends_at_the_horizon(tmp_path):
    folder = write_csgo_folder(tmp_path, tiny_agent(), num_spawns=1)
    backend = CSGOBackend(CSGOWorldModel(load_csgo_agent(folder)), load_spawns(folder), mouse_multiplier=10, horizon=2)
    backend.reset()
    inputs = InputState(frozenset(), 40.0, 0.0, (False, False, False), (), mouse_last=(2.0, -1.0))
    action = backend.action(inputs)
    assert (action.mouse_x, action.mouse_y) == (20, -10)  # 10 x the last event, not 10 x the frame's sum
    assert [backend.step(action).done for _ in range(2)] == [False, True]


def test_headless_cli_replays_spawn_actions(tmp_path):
    folder = write_csgo_folder(tmp_path, tiny_agent())
    cmd = [str(Path(sys.executable).parent / "diamond-play"), "--game", "csgo", "--csgo-dir", str(folder)]
    cmd += ["--headless", "--frames", "3", "--out", "csgo.mp4", "--size-multiplier", "1"]
    run = subprocess.run(
        cmd, cwd=tmp_path, env=os.environ | {"SDL_VIDEODRIVER": "dummy"}, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    video = read_frames(tmp_path / "csgo.mp4")
    assert video.shape[0] == 3 and video.shape[-1] == 280
    refused = subprocess.run(cmd + ["--num-steps-denoising", "5"], cwd=tmp_path, capture_output=True, text=True)
    assert refused.returncode == 2 and "--game csgo does not take --num-steps-denoising" in refused.stderr
    no_horizon = subprocess.run(cmd + ["--horizon", "0"], cwd=tmp_path, capture_output=True, text=True)
    assert no_horizon.returncode == 2 and "--horizon must be at least 1" in no_horizon.stderr
    as_atari = [cmd[0], "--checkpoint", str(folder / "model" / "csgo.pt"), "--game", "Breakout", *cmd[5:]]
    refused = subprocess.run(as_atari, cwd=tmp_path, capture_output=True, text=True)
    assert refused.returncode == 2 and "the CS:GO world model; play it with --game csgo" in refused.stderr


def test_hub_download_of_the_csgo_folder(tmp_path):
    from hub_server import FakeHub

    folder = write_csgo_folder(tmp_path / "published", tiny_agent(), num_spawns=1)
    files = {
        f"eloialonso/diamond/{p.relative_to(folder.parent)}": p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }
    files["eloialonso/diamond/atari_100k/models/Pong.pt"] = b"not downloaded: outside csgo/"
    code = (
        "from worldmodels.core.errors import cli_entry\n"
        "from worldmodels.diamond import load_agent\n"
        "from worldmodels.diamond.csgo import csgo_folder, load_spawns\n"
        "kind = lambda: type(load_agent('csgo')).__name__\n"
        "cli_entry(lambda: print(csgo_folder(), len(load_spawns(csgo_folder())), kind()))()\n"
    )
    with FakeHub(files) as hub:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        env |= {"HF_ENDPOINT": hub.endpoint, "HF_HOME": str(tmp_path / "hf")}
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    path, count, kind = run.stdout.split()
    assert path.endswith("csgo") and count == "1" and kind == "CSGOAgent"
    assert Path(path, "model", "csgo.pt").read_bytes() == (folder / "model" / "csgo.pt").read_bytes()
    assert hub.gets.get("eloialonso/diamond/atari_100k/models/Pong.pt", 0) == 0
    offline = subprocess.run(
        [sys.executable, "-c", code],
        env=env | {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "empty")},
        capture_output=True,
        text=True,
    )  # noqa: E501
    assert offline.returncode == 2 and "--include 'csgo/*'" in offline.stderr
