"""LSTM initialisation used by DIAMOND's reward model and actor-critic."""

from torch import nn


def init_lstm(lstm: nn.Module) -> None:
    """Xavier input weights, orthogonal recurrent weights, zero biases except a forget-gate bias of 1."""
    for name, p in lstm.named_parameters():
        if "weight_ih" in name:
            nn.init.xavier_uniform_(p.data)
        elif "weight_hh" in name:
            nn.init.orthogonal_(p.data)
        elif "bias_ih" in name:
            p.data.fill_(0)
            n = p.size(0)
            p.data[n // 4 : n // 2].fill_(1)
        elif "bias_hh" in name:
            p.data.fill_(0)
