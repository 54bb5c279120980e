"""Errors raised by simdyn.

Every error a user can cause (a bad model file, a bad scenario, a bad argument) is a
:class:`SimdynError`. Its string form is one line, ``file:line: where: what (hint)``, so the
command line can print it as it is and exit with code 2. Errors that mean simdyn itself is
wrong are ordinary Python exceptions.
"""

from __future__ import annotations

__all__ = [
    "ExpressionError",
    "IntegrationError",
    "ModelError",
    "NetworkError",
    "ScenarioError",
    "SimdynError",
]


class SimdynError(Exception):
    """A mistake in user input, located as precisely as simdyn can.

    Parameters
    ----------
    what
        What is wrong, as a sentence fragment (``"unknown name 'capacty'"``).
    file
        The file the input came from, if any.
    line
        1-based line in ``file``, if known.
    where
        The key, variable or argument the problem is in (``"flows.heat_loss.equation"``).
    column
        1-based column inside the equation text, if the problem is in an equation.
    hint
        What would be right (``"did you mean 'capacity'?"``).
    """

    def __init__(
        self,
        what: str,
        *,
        file: str | None = None,
        line: int | None = None,
        where: str | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.what = what
        self.file = file
        self.line = line
        self.where = where
        self.column = column
        self.hint = hint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The one-line ``file:line: where: what (hint)`` form."""
        parts: list[str] = []
        if self.file is not None:
            parts.append(f"{self.file}:{self.line}" if self.line is not None else self.file)
        if self.where is not None:
            parts.append(
                f"{self.where} (column {self.column})" if self.column is not None else self.where
            )
        elif self.column is not None:
            parts.append(f"column {self.column}")
        text = self.what if self.hint is None else f"{self.what} ({self.hint})"
        parts.append(text)
        return ": ".join(parts)

    def located(
        self, *, file: str | None = None, line: int | None = None, where: str | None = None
    ) -> SimdynError:
        """Return a copy with missing location fields filled in (existing ones are kept)."""
        new = type(self).__new__(type(self))
        SimdynError.__init__(
            new,
            self.what,
            file=self.file if self.file is not None else file,
            line=self.line if self.line is not None else line,
            where=self.where if self.where is not None else where,
            column=self.column,
            hint=self.hint,
        )
        return new

    def __str__(self) -> str:
        return self.message


class ExpressionError(SimdynError):
    """An equation that cannot be parsed or checked."""


class ModelError(SimdynError):
    """A model file or model specification that is inconsistent."""


class ScenarioError(SimdynError):
    """A scenario file, parameter value or run option that is invalid."""


class NetworkError(SimdynError):
    """An org graph or graph file that is invalid."""


class IntegrationError(SimdynError):
    """An integration request that cannot be carried out (bad method, dt or time span)."""
