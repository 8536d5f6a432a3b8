-- The readiness probe writes a 64 KiB value here on each check, more than any command's transaction: see
-- DatabaseWritableCheck for why a one-row probe is not enough on a full disk.
ALTER TABLE health ADD COLUMN padding BLOB NULL;
