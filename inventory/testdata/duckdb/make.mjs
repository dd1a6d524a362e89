// Writes duckdb-inventory.parquet, an S3-Inventory-shaped Parquet file
// written by DuckDB, and duckdb-inventory.jsonl.gz, DuckDB's own JSON
// rendering of the same rows (timestamps as epoch milliseconds), which
// the reader's test compares against. Run once, by hand:
//
//   npm install --prefix /tmp/duckdb @duckdb/node-api@1.5.6-r.1
//   cp make.mjs /tmp/duckdb/ && node /tmp/duckdb/make.mjs   # in this folder
//
// Tests never run node; they read the two files committed here.
import { DuckDBInstance } from '@duckdb/node-api';

const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const run = (sql) => c.run(sql);
await run(`SET threads = 1`);
await run(`SET TimeZone = 'UTC'`);
await run(`CREATE TABLE inv AS
SELECT
  'duck-bucket' AS bucket,
  CASE WHEN i % 37 = 0 THEN 'tricky/naïve café ' || i || ' +%20&.txt'
       WHEN i % 53 = 0 THEN 'tricky/日本語/🎉 ' || i
       WHEN i % 61 = 0 THEN 'tricky/comma,quote"new' || chr(10) || 'line ' || i
       ELSE 'data/' || lpad((i % 97)::VARCHAR, 3, '0') || '/part-' || i || '.json' END AS key,
  CASE WHEN i % 20 = 7 THEN NULL ELSE md5('v' || i::VARCHAR) END AS version_id,
  (i % 5 <> 4) AS is_latest,
  (i % 50 = 49) AS is_delete_marker,
  CASE WHEN i % 50 = 49 THEN NULL ELSE ((i * 7919) % 100000000)::BIGINT END AS size,
  make_timestamp((1577836800000 + i * 86400123) * 1000)::TIMESTAMPTZ AS last_modified_date,
  CASE WHEN i % 50 = 49 THEN NULL ELSE md5('e' || i::VARCHAR) END AS e_tag,
  CASE WHEN i % 50 = 49 THEN NULL ELSE (['STANDARD', 'STANDARD_IA', 'INTELLIGENT_TIERING', 'GLACIER', 'DEEP_ARCHIVE'])[1 + i % 5] END AS storage_class,
  CASE WHEN i % 50 = 49 THEN NULL ELSE (i % 7 = 0) END AS is_multipart_uploaded,
  NULL::VARCHAR AS replication_status,
  'SSE-S3' AS encryption_status,
  CASE WHEN i % 11 = 0 THEN make_timestamp((1700000000000 + i * 1000) * 1000) ELSE NULL END AS object_lock_retain_until_date,
  CASE WHEN i % 11 = 0 THEN 'GOVERNANCE' ELSE NULL END AS object_lock_mode,
  'OFF' AS object_lock_legal_hold_status,
  CASE WHEN i % 5 = 2 AND i % 50 <> 49 THEN 'FREQUENT' ELSE NULL END AS intelligent_tiering_access_tier,
  'DISABLED' AS bucket_key_status,
  NULL::VARCHAR AS checksum_algorithm
FROM range(1000) t(i)`);
await run(`COPY inv TO 'duckdb-inventory.parquet' (FORMAT PARQUET)`);
await run(`COPY (SELECT bucket, key, version_id, is_latest, is_delete_marker, size,
    epoch_ms(last_modified_date) AS last_modified_date, e_tag, storage_class, is_multipart_uploaded,
    replication_status, encryption_status, epoch_ms(object_lock_retain_until_date) AS object_lock_retain_until_date,
    object_lock_mode, object_lock_legal_hold_status, intelligent_tiering_access_tier, bucket_key_status, checksum_algorithm
  FROM inv) TO 'duckdb-inventory.jsonl.gz' (FORMAT JSON, COMPRESSION GZIP)`);
const v = await c.runAndReadAll(`SELECT version()`);
console.log('DuckDB', v.getRows()[0][0]);
