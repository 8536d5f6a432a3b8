#!/usr/bin/env python3
"""What the default retentions cost on disk, for sizing a SQLite store.

Applies the worker's SQLite migrations to a new file, writes ROWS rows shaped like the worker's into each growing
table (ids as the worker writes them, a LinkCreated body of the real length), and reads from SQLite's dbstat how many
bytes each row takes with its indexes. Then prints the file a steady rate of commands and webhooks keeps under the
default retentions (docs/design.md, "Retention").

    scripts/storage-footprint.py                        100,000 rows a table, 148 commands/s, 1 webhook per 10
    scripts/storage-footprint.py --rate 50 --webhooks 2  50 commands/s, 2 webhooks per command
"""
import argparse
import glob
import json
import os
import sqlite3
import tempfile
import uuid

DAY = 86_400
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="rows written per table (default 100,000)")
    parser.add_argument("--rate", type=float, default=148, help="commands per second (default 148)")
    parser.add_argument("--webhooks", type=float, default=0.1, help="webhooks per command (default 0.1)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        db = sqlite3.connect(os.path.join(folder, "footprint.db"))
        for script in sorted(glob.glob(os.path.join(ROOT, "src/Kombo.Worker/Storage/Migrations/*.sql"))):
            db.executescript(open(script, encoding="utf-8").read())
        fill(db, args.rows)
        per_row = bytes_per_row(db, args.rows)

    # Rows each table holds at a steady rate under the default retentions (one event and one link per command).
    commands, webhooks = args.rate, args.rate * args.webhooks
    held = {
        "inbox": (commands + webhooks) * 7 * DAY,
        "outbox": (commands + webhooks) * 3600,
        "connect_links": commands * (3600 + 7 * DAY),
        "webhook_receipts": webhooks * 90 * DAY,
    }
    print(f"bytes a row takes, with its indexes ({args.rows:,} rows a table):")
    for table, size in per_row.items():
        print(f"  {table:18} {size:8.0f}")
    print(f"\nat {commands:g} commands/s and {webhooks:g} webhooks/s, under the default retentions:")
    total = 0
    for table, rows in held.items():
        size = rows * per_row[table]
        total += size
        print(f"  {table:18} {rows:16,.0f} rows  {size / 2**30:8.2f} GiB")
    print(f"  {'total':18} {'':16}        {total / 2**30:8.2f} GiB")


def fill(db, rows):
    now = 1_765_000_000_000
    link = "https://connect.kombo.dev/v1?token=" + "x" * 180
    body = json.dumps({
        "correlationId": str(uuid.uuid4()), "endUserOriginId": "customer-000001", "integrationCategory": "HRIS",
        "integrationTool": "personio", "link": link, "linkType": "EMBEDDED",
        "createdAt": "2026-12-08T00:00:00+00:00", "expiresAt": "2026-12-08T01:00:00+00:00",
    }, separators=(",", ":"))
    trace = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    with db:
        db.executemany(
            "INSERT INTO inbox (message_id, consumer, correlation_id, outcome, received_at) VALUES (?, ?, ?, ?, ?)",
            ((str(uuid.uuid4()), "create-connect-link", str(uuid.uuid4()), "succeeded", now + i) for i in range(rows)))
        db.executemany(
            """INSERT INTO outbox (message_id, message_type, body, correlation_id, conversation_id, initiator_id,
                                   ordering_key, created_at, next_attempt_at, sent_at, trace_parent, partition_id)
               VALUES (?, 'LinkCreated', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            ((str(uuid.uuid4()), body, str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()), f"customer-{i:06}",
              now + i, now + i, now + i + 5, trace, i % 16) for i in range(rows)))
        db.executemany(
            """INSERT INTO connect_links (command_id, correlation_id, end_user_origin_id, integration_category,
                                          integration_tool, link_type, link_fingerprint, created_at, expires_at)
               VALUES (?, ?, ?, 'HRIS', 'personio', 'EMBEDDED', ?, ?, ?)""",
            ((str(uuid.uuid4()), str(uuid.uuid4()), f"customer-{i:06}", uuid.uuid4().hex[:16], now + i, now + i + 3_600_000)
             for i in range(rows)))
        db.executemany(
            "INSERT INTO webhook_receipts (inbox_id, received_at) VALUES (?, ?)",
            ((str(uuid.uuid4()), now + i) for i in range(rows)))
    db.execute("VACUUM")


def bytes_per_row(db, rows):
    pages = dict(db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))
    indexes = db.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'").fetchall()
    per_row = {}
    for table in ("inbox", "outbox", "connect_links", "webhook_receipts"):
        size = pages.get(table, 0) + sum(pages.get(name, 0) for name, owner in indexes if owner == table)
        per_row[table] = size / rows
    return per_row


if __name__ == "__main__":
    main()
