-- kiosk-central schema, version 8: the stats report over any range in
-- well under a second, whatever the number of entries (engine::stats says
-- how the report reads these). Applied after schema.sql .. schema_7.sql
-- on a new database, alone on a version-7 one, where it counts what
-- stats_days and stats_readers already hold (it reads nothing schema 7
-- added). Same dialect rules as schema.sql; @C@ is ` COLLATE "C"` on
-- PostgreSQL (titles in byte order, as the report ranks ties) and nothing
-- on SQLite (whose default collation is byte order); @KEYS@ likewise.

-- Keys compare byte by byte on both backends (PostgreSQL: `ALTER TABLE
-- stats_days ALTER COLUMN key TYPE TEXT COLLATE "C";`), so the report can
-- rank titles in SQL exactly as the reference computation does.
@KEYS@

-- The few rows per day that are not titles (all, renewals, refused, hour,
-- kiosk, item type, category, branch), without the titles between them.
CREATE INDEX stats_days_dims ON stats_days (day, dim, key) WHERE dim <> 'title';

-- One title's days, for its exact count over a range.
CREATE INDEX stats_days_titles ON stats_days (key, day) WHERE dim = 'title';

-- Loans per title over all time: a bound on any range's count of that
-- title, read most borrowed first (then by title).
CREATE TABLE stats_titles (
    title TEXT@C@ PRIMARY KEY,
    n_loans BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX stats_titles_rank ON stats_titles (n_loans DESC, title);

INSERT INTO stats_titles (title, n_loans)
SELECT key, SUM(n_loans) FROM stats_days WHERE dim = 'title' GROUP BY key;

-- Every reader who ever borrowed or renewed, and their days: whether a
-- reader was active in a range is one index lookup.
CREATE TABLE stats_patrons (
    patron TEXT PRIMARY KEY
);
CREATE INDEX stats_readers_patron ON stats_readers (patron, day);

INSERT INTO stats_patrons (patron) SELECT DISTINCT patron FROM stats_readers;
