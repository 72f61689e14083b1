import pytest
import torch
from torch import nn

from worldmodels.core.checkpoints import load_strict, load_tensors, save_tensors, with_prefix
from worldmodels.core.errors import UserError


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2), nn.BatchNorm1d(2))


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_round_trip_is_exact(tmp_path, suffix):
    model = tiny_model()
    path = save_tensors(model.state_dict(), tmp_path / f"model{suffix}")
    loaded = load_tensors(path)
    assert loaded.keys() == model.state_dict().keys()
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded[name], tensor)
    other = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2), nn.BatchNorm1d(2))
    load_strict(other, loaded, str(path))
    x = torch.randn(3, 4)
    assert torch.equal(other.eval()(x), model.eval()(x))


def test_strict_load_reports_missing_unexpected_and_wrong_shapes():
    model = tiny_model()
    tensors = model.state_dict()
    del tensors["0.bias"]
    tensors["extra.weight"] = torch.zeros(1)
    tensors["2.weight"] = torch.zeros(3, 8)
    with pytest.raises(UserError) as err:
        load_strict(tiny_model(), tensors, "ckpt.pt")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("ckpt.pt: checkpoint does not match Sequential:")
    assert "1 missing: 0.bias" in message
    assert "1 unexpected: extra.weight" in message
    assert "1 wrong shape: 2.weight (file (3, 8), model (2, 8))" in message


def test_strict_load_shortens_long_lists():
    with pytest.raises(UserError, match=r"12 missing: .*\(\+7 more\)"):
        load_strict(nn.Sequential(*[nn.Linear(2, 2) for _ in range(6)]), {}, "empty.pt")


def test_with_prefix_keeps_only_that_module():
    tensors = {"denoiser.a.weight": torch.ones(1), "denoiser_x.b": torch.ones(1), "actor.c": torch.ones(1)}
    assert list(with_prefix(tensors, "denoiser")) == ["a.weight"]


def test_bad_files_give_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="missing.pt: checkpoint file not found"):
        load_tensors(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01 not safetensors")
    with pytest.raises(UserError, match="garbage.safetensors: not a readable checkpoint"):
        load_tensors(garbage)
    garbage_pt = tmp_path / "garbage.pt"
    garbage_pt.write_bytes(b"definitely not a zip or pickle")
    with pytest.raises(UserError, match="garbage.pt: not a readable checkpoint"):
        load_tensors(garbage_pt)
    nested = tmp_path / "nested.pt"
    torch.save({"model": {"w": torch.ones(1)}}, nested)
    with pytest.raises(UserError, match="nested.pt: expected a flat dict of tensors"):
        load_tensors(nested)


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(1), "f": print}, path)
    with pytest.raises(
        UserError, match=r"evil.pt: not a readable checkpoint: it pickles code \((__builtin__|builtins).print\)"
    ):
        load_tensors(path)


def test_failed_save_leaves_no_file(tmp_path, monkeypatch):
    def disk_full(tensors, filename, **kwargs):
        with open(filename, "wb") as f:
            f.write(b"half a file")
        raise OSError("No space left on device")

    monkeypatch.setattr("worldmodels.core.checkpoints.save_file", disk_full)
    with pytest.raises(OSError):
        save_tensors({"a": torch.ones(4)}, tmp_path / "model.safetensors")
    assert list(tmp_path.iterdir()) == []
