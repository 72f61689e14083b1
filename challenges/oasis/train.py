"""oasis-train: train an Oasis-architecture DiT with diffusion forcing on game clips, with LightningCLI.

  oasis-train fit -c configs/oasis/tiny.yaml                       # a tiny pixel-space model, a CPU smoke run
  oasis-train fit -c configs/oasis/tiny.yaml --trainer.max_steps 100 --data.root data
  oasis-train fit -c configs/oasis/tiny.yaml --ckpt_path data/log/oasis/version_0/checkpoints/last.ckpt
  oasis-train fit -c configs/oasis/tiny.yaml --print_config        # every option, with its value
  oasis-train fit -c configs/oasis/finetune_500m.yaml              # fine-tune Oasis 500M on oasis-encode latents

Data comes from <root>/<env_name>/train and val (genie-sample, then genie-split): 64x64 frames and the
game's discrete actions. A config's data.class_path picks another datamodule: worldmodels.oasis.latents.
LatentDataModule reads the latents oasis-encode stores. TensorBoard and CSV logs and checkpoints land in
data/log/oasis/version_N/; oasis-export writes a checkpoint's DiT in the published layout (oasis-play --dit).
"""

from lightning.pytorch import LightningDataModule
from lightning.pytorch.cli import ArgsType, LightningCLI

from worldmodels.core.errors import cli_entry
from worldmodels.genie.cli import GenieCLI, trainer_defaults
from worldmodels.oasis.train_module import OasisTrainModule

DEFAULT_DATA = "worldmodels.genie.data.GenieDataModule"


class OasisCLI(GenieCLI):
    def add_arguments_to_parser(self, parser) -> None:
        """The datamodule is any LightningDataModule (``data.class_path``); a config without one, as tiny.yaml,
        gives the procgen clips' init args."""
        super().add_arguments_to_parser(parser)
        parser.set_defaults({"data": {"class_path": DEFAULT_DATA}})


@cli_entry(signals=False)  # Lightning stops at the end of a batch on SIGTERM
def main(argv: ArgsType = None) -> None:
    OasisCLI(
        OasisTrainModule,
        LightningDataModule,
        subclass_mode_data=True,
        args=argv,
        save_config_kwargs={"overwrite": True},
        # errors raise (cli_entry prints their one line) instead of printing the usage of every option first
        parser_kwargs={"prog": "oasis-train", "description": __doc__.splitlines()[0], "exit_on_error": False}
        | {subcommand: {"exit_on_error": False} for subcommand in LightningCLI.subcommands()},
        trainer_settings=trainer_defaults("data/log/oasis", monitor="val/loss", mode="min"),
    )


if __name__ == "__main__":
    main()
