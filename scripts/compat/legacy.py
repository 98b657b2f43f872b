"""Make a database as an old upstream release left it: the schema at
upstream's first alembic revision (through upstream's own migrations),
providers without a root provider id and allocations without consumer
records, for the operator tools' parity check.

usage: legacy.py make CONFIG_FILE | dump URL
"""
import sys
import uuid

from oslo_config import cfg
import sqlalchemy as sa

from placement import conf
from placement import db_api
from placement.db.sqlalchemy import migration

PROVIDERS = 57  # more than one batch of 50
CONSUMERS = 53


def make(config_file):
    config = cfg.ConfigOpts()
    conf.register_opts(config)
    config(["--config-file", config_file], project="placement", default_config_files=[])
    db_api.configure(config)
    migration.upgrade("b4ed3a175331")
    engine = migration.get_engine()
    ns = uuid.UUID("6f1a3c2e-0000-4000-8000-000000000000")
    with engine.begin() as conn:
        for i in range(PROVIDERS):
            conn.execute(sa.text(
                "INSERT INTO resource_providers (uuid, name, generation) VALUES (:u, :n, 0)"),
                {"u": str(uuid.uuid5(ns, f"rp{i}")), "n": f"rp{i}"})
        for i in range(CONSUMERS):
            for rc in (0, 1):
                conn.execute(sa.text(
                    "INSERT INTO allocations (resource_provider_id, consumer_id, resource_class_id, used) "
                    "VALUES (:p, :c, :rc, 1)"),
                    {"p": i % PROVIDERS + 1, "c": str(uuid.uuid5(ns, f"c{i}")), "rc": rc})


def dump(url):
    """What the online data migrations leave, for comparing two databases."""
    with sa.create_engine(url).connect() as conn:
        for row in conn.execute(sa.text(
                "SELECT uuid, root_provider_id = id FROM resource_providers ORDER BY uuid")):
            print("provider", *row)
        for row in conn.execute(sa.text(
                "SELECT c.uuid, p.external_id, u.external_id, c.generation FROM consumers c "
                "JOIN projects p ON p.id = c.project_id JOIN users u ON u.id = c.user_id ORDER BY c.uuid")):
            print("consumer", *row)


if __name__ == "__main__":
    {"make": make, "dump": dump}[sys.argv[1]](sys.argv[2])
