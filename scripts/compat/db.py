"""Create or drop a database given an admin SQLAlchemy URL.

usage: db.py create|drop ADMIN_URL NAME
"""
import sys

import sqlalchemy as sa


def main(action, admin_url, name):
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        if action == "create":
            conn.execute(sa.text(f"CREATE DATABASE {name}"))


if __name__ == "__main__":
    main(*sys.argv[1:4])
