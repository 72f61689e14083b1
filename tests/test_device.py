import pytest
import torch

from worldmodels.core.device import autocast, autocast_dtype, pick_device
from worldmodels.core.errors import UserError


@pytest.fixture
def fake_hardware(monkeypatch):
    def set_available(cuda: bool, mps: bool, bf16: bool = True):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: bf16)

    return set_available


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"), [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")]
)
def test_pick_order_is_cuda_then_mps_then_cpu(fake_hardware, cuda, mps, expected):
    fake_hardware(cuda, mps)
    assert pick_device().type == expected


def test_explicit_device_wins(fake_hardware):
    fake_hardware(True, True)
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("cuda:1") == torch.device("cuda:1")


def test_unavailable_or_bogus_device_is_a_clear_error(fake_hardware):
    fake_hardware(False, False)
    with pytest.raises(UserError, match="CUDA is not available"):
        pick_device("cuda")
    with pytest.raises(UserError, match="MPS is not available"):
        pick_device("mps")
    with pytest.raises(UserError, match="not a torch device"):
        pick_device("gpu-please")


def test_precision_half_on_cuda_only(fake_hardware):
    fake_hardware(True, False, bf16=True)
    assert autocast_dtype(torch.device("cuda")) is torch.bfloat16
    fake_hardware(True, False, bf16=False)
    assert autocast_dtype(torch.device("cuda")) is torch.float16
    assert autocast_dtype(torch.device("cpu")) is None
    assert autocast_dtype(torch.device("mps")) is None


def test_cpu_autocast_keeps_full_precision():
    with autocast(torch.device("cpu")):
        y = torch.ones(2, 2) @ torch.ones(2, 2)
    assert y.dtype == torch.float32


def test_autocast_dtype_override_and_cast_cache(monkeypatch):
    import worldmodels.core.device as device_module

    monkeypatch.setattr(device_module, "autocast_dtype", lambda device: torch.bfloat16)  # as on a CUDA machine
    with autocast(torch.device("cpu"), dtype=torch.float16, cache=False):
        y = torch.ones(2, 2) @ torch.ones(2, 2)
        assert not torch.is_autocast_cache_enabled()  # half copies of weights are not kept
    assert y.dtype == torch.float16  # the override wins over the machine's choice (bf16)
    with autocast(torch.device("cpu")):
        assert torch.is_autocast_cache_enabled()
    with autocast(torch.device("cpu"), enabled=False):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


def test_compiling_is_announced_and_plain_eager_is_silent(capsys):
    from worldmodels.core.speed import compile_notice

    compile_notice(compile=False, cuda_graphs=False)
    assert capsys.readouterr().out == ""
    compile_notice(compile=False, cuda_graphs=True)
    assert "first frames compile the model" in capsys.readouterr().out


def test_cli_entry_turns_sigterm_into_ctrl_c_but_leaves_nohup_and_lightning_alone():
    import signal

    from worldmodels.core.errors import cli_entry

    seen = {}

    def handlers():
        seen.update({sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)})

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        cli_entry(handlers)()
        assert seen[signal.SIGHUP] is signal.SIG_IGN  # still ignored: closing the terminal stops nothing
        assert seen[signal.SIGTERM] is not before[signal.SIGTERM]  # ours, raising KeyboardInterrupt
        with pytest.raises(SystemExit) as stopped:
            cli_entry(lambda: signal.raise_signal(signal.SIGTERM))()
        assert stopped.value.code == 130
        cli_entry(signals=False)(handlers)()
        assert seen[signal.SIGTERM] is before[signal.SIGTERM]  # a Lightning CLI keeps its own handling
        assert signal.getsignal(signal.SIGTERM) is before[signal.SIGTERM]  # restored on the way out
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
