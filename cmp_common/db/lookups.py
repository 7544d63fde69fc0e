"""`field__any=[...]`: membership in a long list as one array parameter.

`field__in=[...]` writes one placeholder per value; psycopg splits such a query
in Python on every execution, which for the thousands of ids of one batch of a
mass change costs more than the server's work. On PostgreSQL this lookup writes
`field = ANY(%s)` with the list as one array; elsewhere it is `IN`.
"""

from typing import Any

from django.db.models import Field, ForeignObject, Lookup
from django.db.models.lookups import In


class AnyOf(Lookup):
    lookup_name = "any"

    def get_prep_lookup(self) -> Any:
        return [self.lhs.output_field.get_prep_value(v) for v in self.rhs]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        if connection.vendor != "postgresql":
            return In(self.lhs, self.rhs).as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [
            field.get_db_prep_value(v, connection, prepared=True) for v in self.rhs
        ]
        return f"{lhs} = ANY(%s)", (*lhs_params, values)


# Relations keep lookups of their own: register there too (`consent_id__any`).
Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)
