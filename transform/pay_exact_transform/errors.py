"""The one exception the engine raises for bad input."""

from __future__ import annotations


class InputError(ValueError):
    """Input the engine cannot plan with; the message names the object and the field."""

    def __init__(self, where: str, field: str, problem: str) -> None:
        self.where = where
        self.field = field
        self.problem = problem
        super().__init__(f"{where}: field '{field}' {problem}")
