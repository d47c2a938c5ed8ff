"""Where a notebook writes what it shows: ``tables/*.csv`` and ``figures/*.png`` of a run.

Every CSV the suite writes goes through :func:`write_csv`, which escapes text cells that a
spreadsheet program would run as a formula (CSV injection): a cell beginning with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return gets a leading single quote, as OWASP recommends, so the
spreadsheet shows the text instead of executing it; a carriage return inside a cell becomes a
newline (quoted), so it cannot break a row. Numbers are written as numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cx_helpers.layout import RunLayout

__all__ = ["FORMULA_START", "RunOutput", "escape_formulas", "write_csv"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escape(value):
    if isinstance(value, str):
        if value.startswith(FORMULA_START):
            value = "'" + value
        # a bare carriage return would end the row in a spreadsheet; as a newline it is quoted
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def escape_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and text column names) cannot start a formula.

    Numeric columns are left alone: ``-1.5`` in a float column is a number, not a formula.

    Examples
    --------
    >>> import pandas as pd
    >>> from cx_helpers.outputs import escape_formulas
    >>> df = pd.DataFrame({"comment": ["=1+1", "-rude", "fine"], "delta": [-1.5, 0.0, 2.0]})
    >>> out = escape_formulas(df)
    >>> out["comment"].tolist()
    ["'=1+1", "'-rude", 'fine']
    >>> out["delta"].tolist()
    [-1.5, 0.0, 2.0]
    """
    out = df.copy()
    for col in out.columns:
        values = out[col]
        if isinstance(values.dtype, pd.StringDtype):      # text only: a column at a time
            formula = values.str.startswith(FORMULA_START).fillna(False).astype(bool)
            text = values.mask(formula, "'" + values)
            text = text.str.replace("\r\n", "\n", regex=False).str.replace("\r", "\n",
                                                                           regex=False)
            out[col] = text.astype(object).where(values.notna(), values.astype(object))
        elif not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
                  or pd.api.types.is_datetime64_any_dtype(values)):
            out[col] = values.map(_escape).astype(object)
    out.columns = [_escape(c) for c in out.columns]
    if not isinstance(out.index, pd.RangeIndex):
        out.index = out.index.map(_escape)
    return out


def write_csv(df: pd.DataFrame, path, index: bool = False) -> Path:
    """Write a table as CSV, safe to open in a spreadsheet (see the module docstring).

    Floats keep 6 significant digits and lines end in ``\\n``, so the same table gives the same
    bytes on every machine.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import pandas as pd
    >>> from cx_helpers.outputs import write_csv
    >>> df = pd.DataFrame({"segment": ["@home", "office"], "nps": [12.3456789, -4.0]})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = write_csv(df, Path(folder) / "nps.csv")
    ...     print(path.read_text(), end="")
    segment,nps
    '@home,12.3457
    office,-4
    """
    path = Path(path)
    _zoned_as_text(escape_formulas(df)).to_csv(path, index=index, float_format="%.6g",
                                               lineterminator="\n")
    return path


def _zoned_as_text(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its time-zone-aware columns as the text pandas writes for them (the wall
    time, then the offset: ``2026-01-05 09:30:00+00:00``), built a column at a time: pandas
    formats such a column value by value, which took 44 s for the two time columns of a
    1.3-million-journey table (0.5 s this way)."""
    zoned = [c for c in df.columns if isinstance(df[c].dtype, pd.DatetimeTZDtype)]
    if not zoned:
        return df
    out = df.copy()
    for col in zoned:
        values = df[col]
        wall = values.dt.tz_localize(None)
        text = wall.astype(str)
        text = text.where(text.str.len() != 10, text + " 00:00:00")   # midnights: a date only
        minutes = ((wall - values.dt.tz_convert("UTC").dt.tz_localize(None))
                   // pd.Timedelta(minutes=1)).fillna(0).astype("int64")
        size = minutes.abs()
        offset = (np.where(minutes < 0, "-", "+") + (size // 60).astype(str).str.zfill(2)
                  + ":" + (size % 60).astype(str).str.zfill(2))
        out[col] = (text + offset).where(values.notna()).astype(object)
    return out


class RunOutput:
    """The output folder of one notebook run.

    Parameters
    ----------
    output_dir : str or Path
        The run folder; ``tables/`` and ``figures/`` are created inside it (the names come
        from :mod:`cx_helpers.layout`).

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from cx_helpers.outputs import RunOutput
    >>> df = pd.DataFrame({"touchpoint": ["chat", "store"], "n": [120, 45]})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     out = RunOutput(folder)
    ...     shown = out.table(df, "inventory")          # writes tables/inventory.csv
    ...     print((out.tables / "inventory.csv").read_text(), end="")
    touchpoint,n
    chat,120
    store,45
    >>> shown is df                                     # returns the table, to show it
    True
    """

    def __init__(self, output_dir):
        self.layout = RunLayout(Path(output_dir))
        self.root = self.layout.root
        self.tables = self.layout.tables
        self.figures = self.layout.figures
        self.tables.mkdir(parents=True, exist_ok=True)
        self.figures.mkdir(parents=True, exist_ok=True)

    def table(self, df: pd.DataFrame, name: str, index: bool = False) -> pd.DataFrame:
        """Write ``df`` to ``tables/<name>.csv`` (formula-safe, floats to 6 digits); return it."""
        write_csv(df, self.layout.table(name), index=index)
        return df

    def figure(self, fig, name: str):
        """Save a matplotlib figure (or the figure of an Axes) as ``figures/<name>.png``."""
        fig = getattr(fig, "figure", fig)
        fig.savefig(self.layout.figure(name), dpi=110, bbox_inches="tight",
                    metadata={"Software": None})
        return fig
