"""The transactional outbox: work a write queues never waits on the broker, and is never lost.

`enqueue(task_name, *args)` inside a write's transaction inserts an `OutboxMessage` in that
transaction; on commit it is published through `publish` (a bounded publish: the broker's short
connect and socket timeouts, no retries, skipped at once while the broker breaker is open) and
deleted. A publish that fails leaves the row; `drain()` (the beat's `drain_outbox`, every
minute) publishes what is left once the broker is back. Rows are claimed with
`SELECT … FOR UPDATE SKIP LOCKED`, so the commit hook and a drain never publish the same row;
the tasks are idempotent, so the one window left (published, then the process dies before the
row's delete commits) runs a task twice at worst, never loses it.

`publish(task_name, *args)` alone is the bounded publish for work whose state already waits in
the database (dirty-day markers for refreshes, pending report runs, export jobs).
"""
