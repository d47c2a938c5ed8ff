"""Formatted tables for the notebooks and the client report.

A notebook shows results as tables with labels, units and readable p-values, never as raw
printouts. :func:`table` takes a tidy DataFrame, picks and renames its columns and formats each
one; the result renders as an HTML table in JupyterLab and in ``report.html`` and as aligned text
elsewhere. Both renderings are deterministic (no ids, no memory addresses), so nbval can compare
them.

Format names (``formats`` of :func:`table`)

========== ======================================== ===============
name       meaning                                  0.1234 becomes
========== ======================================== ===============
``pct``    a proportion shown as a percentage       ``12.3 %``
``pct0``   the same, no decimals                    ``12 %``
``share``  a number already in percent              ``0.1 %``
``p``      a p-value                                ``p = 0.123``
``int``    a count with thousands separators        ``0``
``f1``     one decimal (``f2``, ``f3`` likewise)    ``0.1``
``signed`` one decimal with a sign                  ``+0.1``
``text``   as it is                                 ``0.1234``
========== ======================================== ===============

A callable is also accepted. Missing values show as an en dash, or as ``suppressed`` where the
row's ``suppressed`` column is true.
"""

from __future__ import annotations

import html
import math

import pandas as pd

__all__ = ["Table", "p_text", "pct", "table"]

DASH = "\u2013"


def p_text(p, digits: int = 3) -> str:
    """A p-value as a reader expects it: ``p < 0.001`` or ``p = 0.012``.

    Examples
    --------
    >>> from cx_helpers.display import p_text
    >>> p_text(0.0004), p_text(0.0123), p_text(0.5, digits=2)
    ('p < 0.001', 'p = 0.012', 'p = 0.50')
    >>> p_text(None)          # missing: an en dash
    '\u2013'
    """
    if p is None or (isinstance(p, float) and math.isnan(p)) or pd.isna(p):
        return DASH
    if p < 10 ** -digits:
        return f"p < {10 ** -digits:.{digits}f}"
    return f"p = {p:.{digits}f}"


def pct(x, digits: int = 1, signed: bool = False) -> str:
    """A proportion (0.123) as a percentage (``12.3 %``).

    Examples
    --------
    >>> from cx_helpers.display import pct
    >>> pct(0.1234), pct(0.1234, digits=0), pct(0.041, signed=True)
    ('12.3 %', '12 %', '+4.1 %')
    """
    if x is None or pd.isna(x):
        return DASH
    return f"{100 * x:{'+' if signed else ''}.{digits}f} %"


def _formatter(spec):
    if callable(spec):
        return spec
    fixed = {
        "pct": lambda v: pct(v, 1),
        "pct0": lambda v: pct(v, 0),
        "share": lambda v: f"{v:.1f} %",
        "p": p_text,
        "int": lambda v: f"{int(round(v)):,}",
        "signed": lambda v: f"{v:+.1f}",
        "text": str,
    }
    if spec in fixed:
        return fixed[spec]
    if isinstance(spec, str) and len(spec) == 2 and spec[0] == "f" and spec[1].isdigit():
        return lambda v: f"{v:.{int(spec[1])}f}"
    raise ValueError(f"unknown format {spec!r}; use one of {', '.join(fixed)}, f1-f9 or a "
                     "callable.")


class Table:
    """A formatted table: HTML in notebooks and reports, aligned text elsewhere.

    Attributes
    ----------
    frame : DataFrame
        The cells as text, columns renamed to their headings.
    caption, note : str
        Shown above and below the table.

    Examples
    --------
    >>> import pandas as pd
    >>> from cx_helpers.display import Table
    >>> t = Table(pd.DataFrame({"Touchpoint": ["Chat"], "Share": ["8.8 %"]}), caption="Drivers")
    >>> len(t)
    1
    >>> t._repr_html_()  # doctest: +ELLIPSIS
    '<div class="cx-table-wrap"><p class="cx-caption"><b>Drivers</b></p><table ...</table></div>'
    """

    def __init__(self, frame: pd.DataFrame, caption: str = "", note: str = ""):
        self.frame = frame
        self.caption = caption
        self.note = note

    def _repr_html_(self) -> str:
        body = self.frame.to_html(index=False, escape=True, border=0, classes="cx-table")
        cap = f'<p class="cx-caption"><b>{html.escape(self.caption)}</b></p>' \
            if self.caption else ""
        note = f'<p class="cx-note">{html.escape(self.note)}</p>' if self.note else ""
        return f'<div class="cx-table-wrap">{cap}{body}{note}</div>'

    def __repr__(self) -> str:
        parts = [self.caption] if self.caption else []
        parts.append(self.frame.to_string(index=False) if len(self.frame) else "(no rows)")
        if self.note:
            parts.append(self.note)
        return "\n".join(parts)

    def __len__(self) -> int:
        return len(self.frame)


def table(data: pd.DataFrame, columns: dict, formats: dict | None = None, caption: str = "",
          note: str = "") -> Table:
    """Select, rename and format the columns of a tidy table for a reader.

    Parameters
    ----------
    data : DataFrame
        The tidy result (e.g. a table the run writes to ``tables/``).
    columns : dict
        Source column -> heading, in display order.
    formats : dict, optional
        Source column -> format name (see the module docstring) or callable; other columns are
        shown as text.
    caption, note : str
        A title above the table and a note below it (units, what the intervals mean...).

    Returns
    -------
    Table

    Examples
    --------
    A row whose ``suppressed`` column is true shows "suppressed" where its numbers are missing:

    >>> import pandas as pd
    >>> from cx_helpers.display import table
    >>> df = pd.DataFrame({"label": ["Phone support", "Chat", "Store"],
    ...                    "share": [0.186, 0.088, None], "p": [0.0004, 0.2113, None],
    ...                    "n": [2400, 1650, 12], "suppressed": [False, False, True]})
    >>> table(df, columns={"label": "Touchpoint", "share": "Share", "p": "Test", "n": "Base"},
    ...       formats={"share": "pct", "p": "p", "n": "int"}, caption="Key drivers",
    ...       note="Bases under 30 are suppressed.")
    Key drivers
       Touchpoint      Share       Test  Base
    Phone support     18.6 %  p < 0.001 2,400
             Chat      8.8 %  p = 0.211 1,650
            Store suppressed suppressed    12
    Bases under 30 are suppressed.
    """
    formats = formats or {}
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise KeyError(f"table(): no column {', '.join(missing)} in the data; columns: "
                       f"{', '.join(map(str, data.columns))}.")
    hidden = (data["suppressed"].fillna(False).astype(bool) if "suppressed" in data.columns
              else pd.Series(False, index=data.index))
    out = {}
    for col, heading in columns.items():
        fmt = _formatter(formats.get(col, "text"))
        values = data[col]
        out[heading] = [("suppressed" if hide else DASH) if _missing(v) else fmt(v)
                        for v, hide in zip(values, hidden)]
    return Table(pd.DataFrame(out, columns=list(columns.values())), caption, note)


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
