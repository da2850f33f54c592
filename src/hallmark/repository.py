"""The base of every slice's repository: one session and the reads and writes all tables share."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, inspect, select
from sqlalchemy.orm import Session

from hallmark.db import Base
from hallmark.errors import NotFound

ModelT = TypeVar("ModelT", bound=Base)
RowT = TypeVar("RowT", bound=Base)
KeyT = TypeVar("KeyT", uuid.UUID, int)


class Repository(Generic[ModelT]):
    """All SQL of one slice, as methods over one session; `model` is the slice's main table.

    The base reads the main table by primary key and stages new rows of any of the slice's
    tables; each slice adds the queries it needs as methods of its own subclass.
    """

    model: type[ModelT]
    not_found: ClassVar[str] = "No such record."  # the 404's message when `get` finds nothing

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: RowT) -> RowT:
        """Stage a new row and flush, so its id and the database's constraints are checked now."""
        self.session.add(row)
        self.session.flush()
        return row

    def add_all(self, rows: Sequence[RowT]) -> list[RowT]:
        """Stage several new rows and flush them together."""
        self.session.add_all(rows)
        self.session.flush()
        return list(rows)

    def get_or_none(self, row_id: uuid.UUID | int, *, for_update: bool = False) -> ModelT | None:
        """The row with this id, if any; `for_update` locks it until the transaction ends."""
        return self.session.get(self.model, row_id, with_for_update=True if for_update else None)

    def get(self, row_id: uuid.UUID | int, *, for_update: bool = False) -> ModelT:
        """The row with this id; NotFound (404) with the slice's message when there is none."""
        row = self.get_or_none(row_id, for_update=for_update)
        if row is None:
            raise NotFound(self.not_found)
        return row

    def get_many(self, row_ids: Collection[KeyT]) -> dict[KeyT, ModelT]:
        """Rows by id in one query; ids with no row are simply absent."""
        if not row_ids:
            return {}
        mapper = inspect(self.model)
        (key,) = mapper.primary_key
        name = mapper.get_property_by_column(key).key
        rows = self.session.scalars(select(self.model).where(key.in_(row_ids)))
        return {getattr(row, name): row for row in rows}

    def _paginate(self, query: Select[RowT], *, limit: int, offset: int) -> list[RowT]:
        """One page of a query's rows (the query sets the order)."""
        return list(self.session.scalars(query.limit(limit).offset(offset)))

    def _count(self, *criteria: ColumnElement[bool]) -> int:
        """How many rows of the main table meet every criterion."""
        query = select(func.count()).select_from(self.model).where(*criteria)
        return int(self.session.scalar(query) or 0)
