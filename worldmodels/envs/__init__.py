"""Real environments: Atari through gymnasium + ale-py, procgen for Genie."""
