"""Rows read by name: a statement's column names (its aliases) are the fields of the value
it builds, so no code depends on the order of a SELECT list."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Row

T = TypeVar("T")


def build(cls: type[T], row: Row[Any], **extra: Any) -> T:
    """`cls` from the row's columns by name (plus `extra` fields)."""
    return cls(**row._mapping, **extra)
