-- Revision b5c396305c25: no schema change. The runner refuses to pass this
-- revision while an allocation has no consumer record.
SELECT 1;
