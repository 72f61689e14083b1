"""genie-tokenizer: train Genie's video tokenizer (an ST-ViViT VQ-VAE) on procgen clips with LightningCLI.

  genie-tokenizer fit -c configs/tokenize.yaml                        # the paper's CoinRun tokenizer, one GPU
  genie-tokenizer fit -c configs/tiny/tokenize.yaml                   # a tiny model, a CPU smoke run
  genie-tokenizer fit -c configs/tokenize.yaml --trainer.max_steps 10 --data.root data
  genie-tokenizer fit -c configs/tokenize.yaml --ckpt_path data/log/tokenizer/version_0/checkpoints/last.ckpt
  genie-tokenizer fit -c configs/tokenize.yaml --print_config         # every option, with its value

Data comes from <root>/<env_name>/train and val (genie-sample, then genie-split). TensorBoard and CSV logs
and checkpoints land in data/log/tokenizer/version_N/ (relative to the working directory).
"""

from lightning.pytorch.cli import ArgsType

from worldmodels.core.errors import cli_entry
from worldmodels.genie.cli import run_genie_cli
from worldmodels.genie.tokenizer_module import TokenizerModule


@cli_entry(signals=False)  # Lightning stops at the end of a batch on SIGTERM
def main(argv: ArgsType = None) -> None:
    run_genie_cli(
        TokenizerModule, argv, "genie-tokenizer", __doc__, "data/log/tokenizer", monitor="val/psnr", mode="max"
    )


if __name__ == "__main__":
    main()
