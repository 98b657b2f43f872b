"""Print a database's schema as canonical JSON, for comparing ours with
upstream's: tables, columns (type, nullability, default), primary keys,
indexes, unique constraints, foreign keys and the alembic revision.

usage: introspect.py SQLALCHEMY_URL
"""
import json
import re
import sys

import sqlalchemy as sa


def normalise_type(t):
    text = str(t).upper()
    # Spellings differ between DDL and reflection; meaning does not.
    text = re.sub(r"\s+", " ", text)
    text = {"INT": "INTEGER", "INT(11)": "INTEGER", "DOUBLE": "DOUBLE PRECISION",
            "TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP"}.get(text, text)
    return text


def normalise_default(d):
    if d is None:
        return None
    return str(d).strip("'\"()")


def main(url):
    engine = sa.create_engine(url)
    insp = sa.inspect(engine)
    out = {}
    for table in sorted(insp.get_table_names()):
        cols = [
            {
                "name": c["name"],
                "type": normalise_type(c["type"]),
                "nullable": bool(c["nullable"]),
                "default": normalise_default(c.get("default")),
            }
            for c in insp.get_columns(table)
        ]
        pk = insp.get_pk_constraint(table)
        out[table] = {
            "columns": cols,
            "primary_key": pk.get("constrained_columns"),
            "indexes": sorted(
                ({"name": i["name"], "columns": i["column_names"], "unique": bool(i["unique"])}
                 for i in insp.get_indexes(table)
                 # MySQL reports a unique constraint as a unique index too.
                 if not (engine.dialect.name == "mysql" and i["unique"])),
                key=lambda i: i["name"] or ""),
            "unique_constraints": sorted(
                ({"name": u["name"], "columns": u["column_names"]}
                 for u in insp.get_unique_constraints(table)),
                key=lambda u: u["name"] or ""),
            "foreign_keys": sorted(
                ({"name": f.get("name"), "columns": f["constrained_columns"],
                  "refers_to": f["referred_table"],
                  "referred_columns": f["referred_columns"]}
                 for f in insp.get_foreign_keys(table)),
                key=lambda f: f["columns"]),
        }
    with engine.connect() as conn:
        out["alembic_version"]["rows"] = [
            r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))]
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main(sys.argv[1])
