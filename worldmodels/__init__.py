"""worldmodels: run, train and play DIAMOND, Genie and Oasis world models."""

__version__ = "0.1.0"
