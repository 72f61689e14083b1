"""Copy a trained model into worldmodels/pretrained/, the form in which the package ships it.

  python scripts/export_pretrained.py diamond RUN_DIR/checkpoints/agent_versions/agent_epoch_00008.pt
  python scripts/export_pretrained.py genie data/log/genie/version_0/checkpoints/last.ckpt
  python scripts/export_pretrained.py oasis data/log/oasis/version_0/checkpoints/last.ckpt

DIAMOND keeps the published agent layout (a flat ``.pt`` state dict, float32) with its agent config beside it;
Genie becomes one float16 safetensors file (tokenizer + LAM + dynamics, configs in the header), Oasis one float16
safetensors file of the DiT (``export_trained_dit``). Then measure
the result with ``python scripts/eval_pretrained.py`` and write the numbers into the model card.
"""

import argparse
from pathlib import Path

from worldmodels.core.errors import cli_entry


@cli_entry
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("family", choices=("diamond", "genie", "oasis"))
    parser.add_argument("checkpoint", type=Path, help="agent_epoch_N.pt (diamond-train) or last.ckpt (genie/oasis fit)")
    args = parser.parse_args()
    if args.family == "diamond":
        from worldmodels.diamond.agent import load_agent
        from worldmodels.pretrained import DIAMOND_BREAKOUT as target

        agent = load_agent(args.checkpoint)
        agent.save(target)
        agent.cfg.save_yaml(target.with_suffix(".yaml"))
    elif args.family == "genie":
        from worldmodels.genie.genie_module import export_genie
        from worldmodels.pretrained import GENIE_COINRUN as target

        export_genie(args.checkpoint, target)
    else:
        from worldmodels.oasis.train_module import export_trained_dit
        from worldmodels.pretrained import OASIS_BREAKOUT as target

        export_trained_dit(args.checkpoint, target)
    print(f"wrote {target} ({target.stat().st_size / 2**20:.2f} MiB)")


if __name__ == "__main__":
    main()
