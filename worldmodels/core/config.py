"""Reading published Hydra configs into our dataclasses."""

import dataclasses


def known_fields(kind, values: dict | None) -> dict:
    """The entries of ``values`` that are fields of dataclass ``kind``; Hydra's ``_target_`` keys and
    ``${...}`` interpolations are dropped (their values come from elsewhere in our configs)."""
    names = {f.name for f in dataclasses.fields(kind)}
    return {k: v for k, v in (values or {}).items() if k in names and not str(v).startswith("${")}
