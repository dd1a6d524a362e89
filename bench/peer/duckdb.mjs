// The DuckDB side of `s3batchkit bench --peer duckdb` (make bench-peer):
// the same task as `s3batchkit plan --routing none` with the bench filter,
// on the same inventory report.
//
//   node duckdb.mjs MANIFEST OUT_CSV THREADS MIN_SIZE CLASS[,CLASS...]
//   node duckdb.mjs --write MANIFEST OUT_DIR THREADS unsorted|sorted
//
// The second form writes the rows of a Parquet report again as DuckDB
// writes Parquet (snappy, row groups of 100,000 rows, files of about
// 32 MB) into OUT_DIR, as they are or in (bucket, key) order (with one
// thread, so that the files follow each other in key order); the harness
// then writes the manifest. It prints {"version": ..., "rows": N}.
//
// Reads the report's data files (CSV.gz or Parquet) by its manifest.json,
// keeps rows with size >= MIN_SIZE whose storage class is one of CLASSES,
// sorts by bucket and key and writes OUT_CSV: bucket,key, no header, keys
// as plain text (quoted where CSV needs it). CSV inventories carry keys
// form-encoded (space as '+', other bytes %XX), so they are decoded before
// sorting, as s3batchkit does. Prints {"version": ..., "rows": N} on stdout.
//
// @duckdb/node-api resolves from the node_modules folder next to this file:
// the harness copies it into the folder npm installed DuckDB into.
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const writing = process.argv[2] === '--write';
const [manifestPath, out, threads, minSize, classes] = process.argv.slice(writing ? 3 : 2);
if (writing ? !minSize : !classes) {
  console.error('usage: node duckdb.mjs MANIFEST OUT_CSV THREADS MIN_SIZE CLASS[,CLASS...]\n' +
    '       node duckdb.mjs --write MANIFEST OUT_DIR THREADS unsorted|sorted');
  process.exit(2);
}
const man = JSON.parse(readFileSync(manifestPath, 'utf8'));

// files[].key is relative to the data root: the manifest's folder or one
// of its ancestors (the bucket root in a real delivery).
function locate(key) {
  for (let dir = path.dirname(path.resolve(manifestPath)); ; dir = path.dirname(dir)) {
    const p = path.join(dir, key);
    if (existsSync(p)) return p;
    if (path.dirname(dir) === dir) throw new Error(`${key}: not found above ${manifestPath}`);
  }
}
const sqlString = (s) => `'${String(s).replaceAll("'", "''")}'`;
const files = `[${man.files.map((f) => sqlString(locate(f.key))).join(', ')}]`;
const classList = writing ? '' : classes.split(',').map(sqlString).join(', ');
const ident = (s) => `"${s.replaceAll('"', '""')}"`;

let source, bucket, key, size, cls;
switch (String(man.fileFormat).toUpperCase()) {
  case 'CSV': {
    // Name the columns from fileSchema (the CSV has no header); every
    // value is text except Size. Quotes are doubled inside quoted values.
    const names = man.fileSchema.split(',').map((s) => s.trim());
    for (const need of ['Bucket', 'Key', 'Size', 'StorageClass']) {
      if (!names.includes(need)) throw new Error(`fileSchema lacks ${need}`);
    }
    const cols = names.map((n) => `${sqlString(n)}: ${n === 'Size' ? "'BIGINT'" : "'VARCHAR'"}`).join(', ');
    source = `read_csv(${files}, header = false, auto_detect = false, delim = ',', quote = '"', escape = '"',
      compression = 'gzip', columns = {${cols}})`;
    bucket = ident('Bucket');
    key = `url_decode(replace(${ident('Key')}, '+', ' '))`;
    size = ident('Size');
    cls = ident('StorageClass');
    break;
  }
  case 'PARQUET':
    source = `read_parquet(${files})`;
    bucket = 'bucket';
    key = 'key';
    size = 'size';
    cls = 'storage_class';
    break;
  default:
    throw new Error(`fileFormat ${man.fileFormat}: DuckDB has no reader for it here`);
}

const db = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const con = await db.connect();
const version = (await con.runAndReadAll('SELECT version()')).getRows()[0][0];
if (writing) {
  if (String(man.fileFormat).toUpperCase() !== 'PARQUET') throw new Error('--write reads a Parquet report');
  const order = minSize === 'sorted' ? 'ORDER BY bucket, key' : '';
  const res = await con.run(`COPY (SELECT * FROM ${source} ${order}) TO ${sqlString(out)}
    (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 100000, FILE_SIZE_BYTES '32MB', OVERWRITE_OR_IGNORE true)`);
  console.log(JSON.stringify({ version, rows: Number(res.rowsChanged ?? -1) }));
  process.exit(0);
}
const sql = `COPY (
  SELECT ${bucket} AS bucket, ${key} AS key FROM ${source}
  WHERE ${size} >= ${Number(minSize)} AND ${cls} IN (${classList})
  ORDER BY bucket, key
) TO ${sqlString(out)} (FORMAT csv, HEADER false)`;
const res = await con.run(sql);
const rows = Number(res.rowsChanged ?? -1);
console.log(JSON.stringify({ version, rows }));
