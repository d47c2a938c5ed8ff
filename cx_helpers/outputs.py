"""Where a notebook writes what it shows: ``tables/*.csv`` and ``figures/*.png`` of a run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["RunOutput"]


class RunOutput:
    """The output folder of one notebook run.

    Parameters
    ----------
    output_dir : str or Path
        The run folder; ``tables/`` and ``figures/`` are created inside it.

    Examples
    --------
    >>> out = RunOutput(tmp_path)                           # doctest: +SKIP
    >>> out.table(df, "inventory")                          # writes tables/inventory.csv
    """

    def __init__(self, output_dir):
        self.root = Path(output_dir)
        self.tables = self.root / "tables"
        self.figures = self.root / "figures"
        self.tables.mkdir(parents=True, exist_ok=True)
        self.figures.mkdir(parents=True, exist_ok=True)

    def table(self, df: pd.DataFrame, name: str, index: bool = False) -> pd.DataFrame:
        """Write ``df`` to ``tables/<name>.csv`` (floats to 6 decimals) and return it."""
        df.to_csv(self.tables / f"{name}.csv", index=index, float_format="%.6g",
                  lineterminator="\n")
        return df

    def figure(self, fig, name: str):
        """Save a matplotlib figure (or the figure of an Axes) as ``figures/<name>.png``."""
        fig = getattr(fig, "figure", fig)
        fig.savefig(self.figures / f"{name}.png", dpi=110, bbox_inches="tight",
                    metadata={"Software": None})
        return fig
