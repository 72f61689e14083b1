"""oasis-train: train an Oasis-architecture DiT with diffusion forcing on game clips, with LightningCLI.

  oasis-train fit -c configs/oasis/tiny.yaml                       # a tiny pixel-space model, a CPU smoke run
  oasis-train fit -c configs/oasis/tiny.yaml --trainer.max_steps 100 --data.root data
  oasis-train fit -c configs/oasis/tiny.yaml --ckpt_path data/log/oasis/version_0/checkpoints/last.ckpt
  oasis-train fit -c configs/oasis/tiny.yaml --print_config        # every option, with its value

Data comes from <root>/<env_name>/train and val (genie-sample, then genie-split): 64x64 frames and the
game's discrete actions. TensorBoard and CSV logs and checkpoints land in data/log/oasis/version_N/.
"""

from lightning.pytorch.cli import ArgsType

from worldmodels.core.errors import cli_entry
from worldmodels.genie.cli import run_genie_cli
from worldmodels.oasis.train_module import OasisTrainModule


@cli_entry(signals=False)  # Lightning stops at the end of a batch on SIGTERM
def main(argv: ArgsType = None) -> None:
    run_genie_cli(OasisTrainModule, argv, "oasis-train", __doc__, "data/log/oasis", monitor="val/loss", mode="min")


if __name__ == "__main__":
    main()
