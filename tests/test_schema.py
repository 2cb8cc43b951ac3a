"""Schema rules: every foreign key is the leading column of an index (joins and deletes stay fast)."""

from __future__ import annotations

from forum import models  # noqa: F401  (every table)
from forum.extensions import db


def leading_columns(table) -> set[str]:
    leading = {index.columns[0].name for index in table.indexes if index.columns}
    leading |= {
        c.columns[0].name
        for c in table.constraints
        if hasattr(c, "columns")
        and len(c.columns)
        and c.__class__.__name__ in ("UniqueConstraint", "PrimaryKeyConstraint")
    }
    return leading


def test_every_foreign_key_leads_an_index():
    missing = []
    for table in db.metadata.sorted_tables:
        leading = leading_columns(table)
        for foreign_key in table.foreign_keys:
            column = foreign_key.parent.name
            if column not in leading:
                missing.append(f"{table.name}.{column}")
    assert missing == []
