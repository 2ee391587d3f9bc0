"""The one error a bad input produces: file, line, field and what was expected."""
from __future__ import annotations


class CaseError(Exception):
    """A case input is wrong. The CLI prints ``str(err)`` and exits with code 2."""

    def __init__(self, file: str, message: str, line: int | None = None, field: str | None = None,
                 unit: str = "line"):
        self.file, self.line, self.field, self.message = file, line, field, message
        where = file
        if line is not None:
            where += f", {unit} {line}"  # 'row' in a workbook sheet
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")
