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
        """Combine several problems into one error listing them all."""
        problems = list(problems)
        if len(problems) == 1:
            return problems[0]
        err = cls(f"{len(problems)} problems found:\n" + "\n".join(f"  - {p}" for p in problems))
        err.problems = problems
        return err
