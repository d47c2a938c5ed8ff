"""The one exception type for bad studies."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["StudyError", "format_rows"]


def format_rows(rows: Iterable[int], limit: int = 10) -> str:
    """Describe data rows (1-based, header excluded) compactly.

    Parameters
    ----------
    rows : iterable of int
        Row numbers.
    limit : int, default 10
        How many rows to name before summarising the rest.

    Returns
    -------
    str
        For example ``"rows 3, 7, 12"`` or ``"rows 3, 7, ... (25 rows in all)"``.

    Examples
    --------
    >>> from cx_helpers.errors import format_rows
    >>> format_rows([8, 3, 3])
    'rows 3, 8'
    >>> format_rows([5])
    'row 5'
    >>> format_rows(range(1, 26), limit=3)
    'rows 1, 2, 3, ... (25 rows in all)'
    """
    rows = sorted(set(int(r) for r in rows))
    if not rows:
        return ""
    shown = ", ".join(str(r) for r in rows[:limit])
    word = "row" if len(rows) == 1 else "rows"
    if len(rows) > limit:
        return f"{word} {shown}, ... ({len(rows)} rows in all)"
    return f"{word} {shown}"


class StudyError(ValueError):
    """A study does not meet the contract (see ``data/README.md``).

    The message names the file, the column, the rows, what was expected and how to fix it.
    A single error may carry several problems (``problems``), each itself a ``StudyError``.

    Parameters
    ----------
    message : str
        What is wrong.
    file, column : str, optional
        Where.
    rows : iterable of int, optional
        Data rows (1-based, header excluded).
    expected : str, optional
        What was expected instead.
    fix : str, optional
        How to fix it.

    Examples
    --------
    >>> from cx_helpers import StudyError
    >>> err = StudyError("values outside the scale (7).", file="survey.csv",
    ...                  column="q_billing", rows=[8, 4], expected="whole numbers from 1 to 5",
    ...                  fix="correct the scale in study.yaml.")
    >>> print(err)  # doctest: +NORMALIZE_WHITESPACE
    survey.csv, column 'q_billing', rows 4, 8: values outside the scale (7).
    Expected whole numbers from 1 to 5. Fix: correct the scale in study.yaml.
    >>> isinstance(err, ValueError), err.column, err.rows
    (True, 'q_billing', [4, 8])
    """

    def __init__(self, message, *, file=None, column=None, rows=None, expected=None, fix=None):
        self.file = None if file is None else str(file)
        self.column = column
        self.rows = sorted(set(int(r) for r in rows)) if rows is not None else []
        self.expected = expected
        self.fix = fix
        self.problems = [self]
        parts = []
        where = []
        if self.file:
            where.append(self.file)
        if column is not None:
            where.append(f"column '{column}'")
        if self.rows:
            where.append(format_rows(self.rows))
        if where:
            parts.append(", ".join(where) + ":")
        parts.append(message)
        text = " ".join(parts)
        if expected:
            text += f" Expected {expected}."
        if fix:
            text += f" Fix: {fix}"
        super().__init__(text)

    @classmethod
    def collect(cls, problems):
        """Combine several problems into one error listing them all.

        Examples
        --------
        >>> from cx_helpers import StudyError
        >>> err = StudyError.collect([StudyError("no such column.", column="ltr"),
        ...                           StudyError("empty table.", file="events.csv")])
        >>> print(err)
        2 problems found:
          - column 'ltr': no such column.
          - events.csv: empty table.
        >>> [p.column for p in err.problems]
        ['ltr', None]
        """
        problems = list(problems)
        if len(problems) == 1:
            return problems[0]
        err = cls(f"{len(problems)} problems found:\n" + "\n".join(f"  - {p}" for p in problems))
        err.problems = problems
        return err
