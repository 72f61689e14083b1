import numpy as np
import pytest
import torch
from PIL import Image

from worldmodels.core.errors import UserError
from worldmodels.core.video import VideoWriter, read_frames, read_image, to_hwc_uint8, write_video


def moving_square(num_frames: int, height: int = 48, width: int = 64) -> list[np.ndarray]:
    frames = []
    for t in range(num_frames):
        frame = np.zeros((height, width, 3), np.uint8)
        frame[10:26, 4 * t : 4 * t + 16] = (255, 200, 0)
        frames.append(frame)
    return frames


def test_mp4_round_trip_keeps_count_size_and_content(tmp_path):
    frames = moving_square(12)
    path = write_video(tmp_path / "clip.mp4", frames, fps=10)
    video = read_frames(path)
    assert video.shape == (12, 3, 48, 64)
    assert video.dtype == torch.uint8
    decoded = video.permute(0, 2, 3, 1).numpy().astype(int)
    assert np.abs(decoded - np.stack(frames)).mean() < 4  # lossy, but the same picture


def test_odd_sizes_are_padded_for_h264(tmp_path):
    path = write_video(tmp_path / "odd.mp4", moving_square(3, height=33, width=45))
    assert read_frames(path).shape == (3, 3, 34, 46)


def test_gif_round_trip(tmp_path):
    path = write_video(tmp_path / "clip.gif", moving_square(5))
    assert read_frames(path).shape == (5, 3, 48, 64)


def test_image_prompt(tmp_path):
    array = np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    Image.fromarray(array).save(tmp_path / "p.png")
    image = read_image(tmp_path / "p.png")
    assert torch.equal(image, torch.from_numpy(array).permute(2, 0, 1))
    assert read_frames(tmp_path / "p.png").shape == (1, 3, 20, 30)


def test_bad_inputs(tmp_path):
    with pytest.raises(UserError, match="nothing.png: image file not found"):
        read_frames(tmp_path / "nothing.png")
    (tmp_path / "fake.mp4").write_bytes(b"nope")
    with pytest.raises(UserError, match="fake.mp4: not a readable video"):
        read_frames(tmp_path / "fake.mp4")
    with pytest.raises(UserError, match="unknown file type '.txt'"):
        read_frames(tmp_path / "notes.txt")


def test_interrupted_recording_leaves_nothing(tmp_path):
    writer = VideoWriter(tmp_path / "rec.mp4")
    writer.write(moving_square(1)[0])
    writer.discard()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(UserError, match="no frames"):
        VideoWriter(tmp_path / "empty.mp4").close()
    assert list(tmp_path.iterdir()) == []


def test_to_hwc_uint8_maps_model_range():
    values = torch.tensor([-1.5, -1.0, 0.0, 1.0, 2.0]).view(5, 1, 1, 1).expand(5, 3, 2, 2)
    out = to_hwc_uint8(values)
    assert out.shape == (5, 2, 2, 3)
    assert out[:, 0, 0, 0].tolist() == [0, 0, 128, 255, 255]
