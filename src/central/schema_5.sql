-- kiosk-central schema, version 5: the stats report's figures kept as
-- entries are applied (engine::stats), so a report reads a few rows per
-- day instead of joining every entry of the range. Applied after
-- schema.sql .. schema_4.sql on a new database, alone on a version-4 one
-- (where it also counts the entries already applied). Same dialect rules
-- as schema.sql.

-- A return's borrower: the loan of the item returned at the entry's time.
CREATE INDEX loans_item_returned ON loans (item, returned);

-- Per day (the entry's own date, as the kiosk stamped it) and dimension:
-- `all` (loans, returns), `renewals` and `refused` (counted in n_loans),
-- `hour`, `kiosk`, `item_type`, `category`, `branch`, `title` (loans only).
CREATE TABLE stats_days (
    day TEXT NOT NULL,
    dim TEXT NOT NULL,
    key TEXT NOT NULL,
    n_loans BIGINT NOT NULL DEFAULT 0,
    n_returns BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, dim, key)
);

-- Readers who borrowed or renewed, per day (n: how many such entries).
CREATE TABLE stats_readers (
    day TEXT NOT NULL,
    patron TEXT NOT NULL,
    n BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, patron)
);

-- The entries applied before this version, counted by the same rules.
CREATE TABLE stats_backfill AS
SELECT substr(e.at, 1, 10) AS day, substr(e.at, 12, 2) AS hour, e.kiosk_id, e.patron,
       CASE WHEN e.decision <> 'accepted' THEN 'refused' ELSE e.kind END AS k,
       COALESCE(i.item_type, 'unknown') AS item_type,
       COALESCE(i.title, 'unknown') AS title,
       COALESCE(p.category, rp.category, 'unknown') AS category,
       COALESCE(NULLIF(i.location, ''), 'unknown') AS branch
FROM entries e LEFT JOIN items i ON i.barcode = e.item
LEFT JOIN patrons p ON p.barcode = e.patron
LEFT JOIN loans rl ON e.kind = 'checkin' AND rl.item = e.item AND rl.returned = e.at
LEFT JOIN patrons rp ON rp.barcode = rl.patron
WHERE e.status = 'applied' AND e.kind IN ('checkout', 'checkin', 'renew');

INSERT INTO stats_days (day, dim, key, n_loans, n_returns)
SELECT day, dim, key, SUM(l), SUM(r) FROM (
    SELECT day, 'all' AS dim, '' AS key,
           CASE WHEN k = 'checkout' THEN 1 ELSE 0 END AS l,
           CASE WHEN k = 'checkin' THEN 1 ELSE 0 END AS r
      FROM stats_backfill WHERE k IN ('checkout', 'checkin')
    UNION ALL SELECT day, 'renewals', '', 1, 0 FROM stats_backfill WHERE k = 'renew'
    UNION ALL SELECT day, 'refused', '', 1, 0 FROM stats_backfill WHERE k = 'refused'
    UNION ALL SELECT day, 'hour', hour, CASE WHEN k = 'checkout' THEN 1 ELSE 0 END,
           CASE WHEN k = 'checkin' THEN 1 ELSE 0 END
      FROM stats_backfill WHERE k IN ('checkout', 'checkin')
    UNION ALL SELECT day, 'kiosk', kiosk_id, CASE WHEN k = 'checkout' THEN 1 ELSE 0 END,
           CASE WHEN k = 'checkin' THEN 1 ELSE 0 END
      FROM stats_backfill WHERE k IN ('checkout', 'checkin')
    UNION ALL SELECT day, 'item_type', item_type, CASE WHEN k = 'checkout' THEN 1 ELSE 0 END,
           CASE WHEN k = 'checkin' THEN 1 ELSE 0 END
      FROM stats_backfill WHERE k IN ('checkout', 'checkin')
    UNION ALL SELECT day, 'category', category, CASE WHEN k = 'checkout' THEN 1 ELSE 0 END,
           CASE WHEN k = 'checkin' THEN 1 ELSE 0 END
      FROM stats_backfill WHERE k IN ('checkout', 'checkin')
    UNION ALL SELECT day, 'branch', branch, CASE WHEN k = 'checkout' THEN 1 ELSE 0 END,
           CASE WHEN k = 'checkin' THEN 1 ELSE 0 END
      FROM stats_backfill WHERE k IN ('checkout', 'checkin')
    UNION ALL SELECT day, 'title', title, 1, 0 FROM stats_backfill WHERE k = 'checkout'
) f GROUP BY day, dim, key;

INSERT INTO stats_readers (day, patron, n)
SELECT day, patron, COUNT(*) FROM stats_backfill
WHERE k IN ('checkout', 'renew') AND patron IS NOT NULL
GROUP BY day, patron;

DROP TABLE stats_backfill;
