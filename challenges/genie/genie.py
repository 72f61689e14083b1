"""genie: train Genie's latent action model and dynamics model jointly over a frozen tokenizer, with LightningCLI.

  genie fit -c configs/genie.yaml --model.tokenizer_ckpt_path data/log/tokenizer/version_0/checkpoints/last.ckpt
  genie fit -c configs/tiny/genie.yaml --model.tokenizer_ckpt_path T.ckpt --data.root data   # a CPU smoke run
  genie fit -c configs/genie.yaml --model.tokenizer_ckpt_path T.ckpt --trainer.max_steps 10
  genie fit -c configs/genie.yaml --ckpt_path data/log/genie/version_0/checkpoints/last.ckpt
  genie fit -c configs/genie.yaml --print_config         # every option, with its value

Data comes from <root>/<env_name>/train and val (genie-sample, then genie-split); the tokenizer from
genie-tokenizer. TensorBoard and CSV logs and checkpoints land in data/log/genie/version_N/ (relative to the
working directory). Play a checkpoint with genie-play, measure it with genie-eval.
"""

from lightning.pytorch.cli import ArgsType

from worldmodels.core.errors import cli_entry
from worldmodels.genie.cli import run_genie_cli
from worldmodels.genie.genie_module import GenieModule


@cli_entry(signals=False)  # Lightning stops at the end of a batch on SIGTERM
def main(argv: ArgsType = None) -> None:
    run_genie_cli(GenieModule, argv, "genie", __doc__, "data/log/genie", monitor="val/loss", mode="min")


if __name__ == "__main__":
    main()
