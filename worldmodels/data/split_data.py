"""A Lightning data module over one folder per split (train, val, test): subclasses say how a split's folder
becomes a dataset (``split``); the loaders are the same for all (shuffled train, persistent workers)."""

import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader, Dataset

STAGE_SPLITS = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",)}


class SplitDataModule(LightningDataModule):
    """Subclasses define ``split(name) -> Dataset``: the dataset of split ``name``, or a one-line
    ``UserError`` saying how to make it."""

    def __init__(self, batch_size: int, num_workers: int):
        super().__init__()
        self.batch_size, self.num_workers = batch_size, num_workers
        self.datasets: dict[str, Dataset] = {}

    def setup(self, stage: str) -> None:
        for name in STAGE_SPLITS.get(stage, ()):
            if name not in self.datasets:
                self.datasets[name] = self.split(name)

    def loader(self, name: str) -> DataLoader:
        return DataLoader(
            self.datasets[name],
            batch_size=self.batch_size,
            shuffle=name == "train",
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )

    def train_dataloader(self) -> DataLoader:
        return self.loader("train")

    def val_dataloader(self) -> DataLoader:
        return self.loader("val")

    def test_dataloader(self) -> DataLoader:
        return self.loader("test")
