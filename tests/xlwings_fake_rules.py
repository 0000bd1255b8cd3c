"""Conditional formatting in the fake Excel, as COM shows it on Windows: a range's
``api.FormatConditions`` (Count, Item, Add of type xlExpression) and each rule's Formula1,
Interior/Font colours, StopIfTrue and Delete; every call counted like the rest of the fake."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .xlwings_fake import FakeComError

if TYPE_CHECKING:
    from .xlwings_fake import FakeRange


@dataclass
class RuleState:
    """One conditional-formatting rule (xlExpression) as Excel stores it."""

    area: tuple[int, int, int, int]  # (r1, c1, r2, c2)
    formula: str
    fill: int | None = None  # Interior.Color: BGR, as COM has it
    font: int | None = None
    stop_if_true: bool = True


class FormatConditions:
    """A range's FormatConditions: the rules that touch the range (1-based Item, as COM)."""

    def __init__(self, rng: FakeRange) -> None:
        self._rng = rng

    def _here(self) -> list[RuleState]:
        r1, c1, r2, c2 = self._rng.areas[0]
        return [rule for rule in self._rng._cells.rules
                if rule.area[0] <= r2 and rule.area[2] >= r1 and rule.area[1] <= c2 and rule.area[3] >= c1]

    @property
    def Count(self) -> int:
        self._rng._call("FormatConditions.Count")
        return len(self._here())

    def Item(self, index: int) -> FakeFormatCondition:
        self._rng._call("FormatConditions.Item")
        return FakeFormatCondition(self._rng, self._here()[index - 1])

    def Add(self, Type: int, Operator: Any = None, Formula1: str = "") -> FakeFormatCondition:
        self._rng._call("FormatConditions.Add", write=True)
        if Type != 2 or not Formula1.startswith("="):
            raise FakeComError(-2146827284, "Invalid procedure call or argument")
        rule = RuleState(self._rng.areas[0], Formula1)
        self._rng._cells.rules.append(rule)
        return FakeFormatCondition(self._rng, rule)


class _Colour:
    def __init__(self, condition: FakeFormatCondition, what: str) -> None:
        self._condition = condition
        self._what = what

    @property
    def Color(self) -> int | None:
        return getattr(self._condition._state, self._what)  # type: ignore[no-any-return]

    @Color.setter
    def Color(self, value: int) -> None:
        self._condition._rng._call("FormatCondition.Color", write=True)
        setattr(self._condition._state, self._what, value)


class FakeFormatCondition:
    """COM's FormatCondition of type xlExpression, over a RuleState."""

    def __init__(self, rng: FakeRange, state: RuleState) -> None:
        self._rng = rng
        self._state = state
        self.Interior = _Colour(self, "fill")
        self.Font = _Colour(self, "font")

    @property
    def Formula1(self) -> str:
        self._rng._call("FormatCondition.Formula1")
        return self._state.formula

    @property
    def StopIfTrue(self) -> bool:
        return self._state.stop_if_true

    @StopIfTrue.setter
    def StopIfTrue(self, value: bool) -> None:
        self._rng._call("FormatCondition.StopIfTrue", write=True)
        self._state.stop_if_true = value

    def Delete(self) -> None:
        self._rng._call("FormatCondition.Delete", write=True)
        self._rng._cells.rules.remove(self._state)
