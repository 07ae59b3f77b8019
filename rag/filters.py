"""What a search may be limited to: a publication window, outlets, languages. Applied inside
the vector search (a Chroma `where` on the passages' metadata) and the keyword search (a SQL
`WHERE` on the passage index's columns), not after them, so a narrow filter still finds its
best passages."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date


def day_number(day: date) -> int:
    """YYYYMMDD: how passages store their publication day (`published_day`)."""
    return day.year * 10_000 + day.month * 100 + day.day


@dataclass(frozen=True)
class Filters:
    published_after: date | None = None  # both days included
    published_before: date | None = None
    outlets: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.published_after or self.published_before or self.outlets or self.languages)

    @property
    def dated(self) -> bool:
        """Only dated passages can pass: the filter has a publication bound."""
        return bool(self.published_after or self.published_before)

    def narrowed(self, after: date | None, before: date | None) -> Filters:
        """These filters, and also the window from `after` to `before` (a question's)."""
        low = max((d for d in (self.published_after, after) if d), default=None)
        high = min((d for d in (self.published_before, before) if d), default=None)
        return replace(self, published_after=low, published_before=high)

    def where(self) -> dict | None:
        """The Chroma `where` filter of these conditions (None: no condition)."""
        terms: list[dict] = []
        if self.published_after:
            terms.append({"published_day": {"$gte": day_number(self.published_after)}})
        if self.published_before:
            terms.append({"published_day": {"$lte": day_number(self.published_before)}})
        if self.outlets:
            terms.append({"outlet": {"$in": list(self.outlets)}})
        if self.languages:
            terms.append({"language": {"$in": list(self.languages)}})
        if not terms:
            return None
        return terms[0] if len(terms) == 1 else {"$and": terms}

    def sql(self) -> tuple[str, list]:
        """The same conditions on the passage index's columns: (" AND …", parameters)."""
        clauses, params = [], []
        if self.published_after:
            clauses.append("c.published_day >= ?")
            params.append(day_number(self.published_after))
        if self.published_before:
            clauses.append("c.published_day <= ?")
            params.append(day_number(self.published_before))
        if self.outlets:
            clauses.append(f"c.outlet IN ({','.join('?' * len(self.outlets))})")
            params += list(self.outlets)
        if self.languages:
            clauses.append(f"c.language IN ({','.join('?' * len(self.languages))})")
            params += list(self.languages)
        return "".join(f" AND {c}" for c in clauses), params
