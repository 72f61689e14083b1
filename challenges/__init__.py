"""Thin command-line tools, one folder per challenge; the work happens in ``worldmodels``."""
