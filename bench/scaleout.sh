#!/usr/bin/env bash
# Distributed plan benchmark (docs/scale-out.md, issue 24): N local worker
# processes against an S3 server (versitygw, from S3BATCHKIT_TEST_S3_*),
# indices from AWS_BATCH_JOB_ARRAY_INDEX as AWS Batch sets them, for N in
# $NS, in direct (every range reads every file it may need) and shuffle
# (plan scatter, then the ranges) mode, on a generated report of $ROWS
# rows in $FILES files, $FORMAT (parquet, csv or orc; gen's rows are in no
# key order; with CLUSTERED=1 the same rows are rewritten in key order by
# bench/clustered first). CMD=diff measures a distributed diff of the
# report against a copy of itself instead of a plan.
#
# Per run it prints: the slowest scatter and worker (wall seconds), the
# CPU seconds of all processes (user+sys, split and merge included), the
# bytes decoded from the data files (input_bytes) plus those read to check
# MD5s (read_MB, an estimate), the bytes every process's GETs received
# (wire_MB, counted), and the bytes the scatter wrote. All processes of a step run at
# once, on this machine's cores: with more processes than cores the
# slowest wall time includes waiting for a core.
#
#   make bench-scaleout            # ROWS=4000000 NS="1 2 4"
#   ROWS=1000000 NS="1 2" bash bench/scaleout.sh
#   FORMAT=csv NS="1 2 4 8" bash bench/scaleout.sh
#   CLUSTERED=1 FORMAT=csv bash bench/scaleout.sh   # gen's rows in key order
#   CMD=diff NS="1 2 4" bash bench/scaleout.sh      # diff split, diff --ranges
#   SOURCE=DIR bash bench/scaleout.sh   # an existing report (a folder with
#                                       # manifest.json) instead of gen's,
#                                       # e.g. bench's DuckDB-written one in
#                                       # key order (clustered)
set -euo pipefail

ROWS=${ROWS:-4000000}
FILES=${FILES:-8}
FORMAT=${FORMAT:-parquet}
NS=${NS:-"1 2 4"}
MODES=${MODES:-"direct shuffle"}
: "${S3BATCHKIT_TEST_S3_ENDPOINT:?source /work/vgw-env.sh (or set S3BATCHKIT_TEST_S3_*)}"
export AWS_ACCESS_KEY_ID=$S3BATCHKIT_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3BATCHKIT_TEST_S3_SECRET_KEY
export AWS_REGION=us-east-1 AWS_ENDPOINT_URL=$S3BATCHKIT_TEST_S3_ENDPOINT
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset JOB_COMPLETION_INDEX AWS_BATCH_JOB_ARRAY_INDEX || true

work=$(mktemp -d /tmp/s3batchkit-bench-scaleout.XXXX)
trap 'rm -rf "$work"' EXIT
bin=$work/s3batchkit
go build -o "$bin" ./cmd/s3batchkit

bucket=bench-scaleout-$$
/usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL" s3 mb "s3://$bucket" >/dev/null
cleanup() { /usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL" s3 rb --force "s3://$bucket" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

inv=s3://$bucket/inv/src/cfg
if [ -z "${SOURCE:-}" ] && [ "${CLUSTERED:-}" = 1 ]; then
	echo "generating $ROWS rows in $FILES files, rewritten in key order as $FORMAT" >&2
	"$bin" gen -q --rows "$ROWS" --files "$FILES" --format parquet --seed 7 --out "$work/gen"
	go run ./bench/clustered --in "$work/gen/manifest.json" --out "$work/clustered" --format "$FORMAT" \
		--file-rows $(((ROWS + FILES - 1) / FILES)) >&2
	rm -rf "$work/gen"
	SOURCE=$work/clustered
fi
if [ -n "${SOURCE:-}" ]; then
	echo "uploading $SOURCE to $inv" >&2
	/usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL" s3 cp --recursive --quiet "$SOURCE" "$inv"
else
	echo "generating $ROWS rows of $FORMAT in $FILES files at $inv" >&2
	"$bin" gen -q --rows "$ROWS" --files "$FILES" --format "$FORMAT" --seed 7 --out "$inv"
fi
m=$inv/manifest.json
# CMD=diff: a distributed diff of the report against a copy of itself
# under another prefix (every object compared, all unchanged).
CMD=${CMD:-plan}
case $CMD in
plan) inputs=(--inventory "$m") ;;
diff)
	/usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL" s3 cp --recursive --quiet "$inv" "s3://$bucket/inv2/src/cfg"
	inputs=(--source "$m" --target "s3://$bucket/inv2/src/cfg/manifest.json")
	;;
*) echo "CMD must be plan or diff" >&2; exit 2 ;;
esac

# timed LOG CMD...: runs CMD under /usr/bin/time, output to LOG.json,
# times to LOG.time ("wall user sys maxrss_kb").
timed() {
	local log=$1
	shift
	/usr/bin/time -f "%e %U %S %M" -o "$log.time" "$@" >"$log.json"
}

# field FILE.json KEY: a top-level number of a JSON summary.
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))' "$1" "$2"; }

printf "%-8s %3s %10s %10s %10s %8s %14s %14s %14s\n" mode N scatter_s worker_s cpu_s rss_MB read_MB wire_MB scatter_MB
for mode in $MODES; do
	for n in $NS; do
		root=s3://$bucket/runs/$mode-$n
		d=$work/$mode-$n
		mkdir -p "$d"
		timed "$d/split" "$bin" "$CMD" split "${inputs[@]}" --ranges "$n" --mode "$mode" --out "$root/ranges.json" --json
		if [ "$mode" = shuffle ]; then
			pids=()
			for ((j = 0; j < n; j++)); do
				AWS_BATCH_JOB_ARRAY_INDEX=$j timed "$d/scatter-$j" "$bin" plan scatter --ranges "$root/ranges.json" --json --workers 1 &
				pids+=($!)
			done
			for p in "${pids[@]}"; do wait "$p"; done
		fi
		pids=()
		for ((i = 0; i < n; i++)); do
			AWS_BATCH_JOB_ARRAY_INDEX=$i timed "$d/worker-$i" "$bin" "$CMD" "${inputs[@]}" --ranges "$root/ranges.json" --json --workers 1 &
			pids+=($!)
		done
		for p in "${pids[@]}"; do wait "$p"; done
		timed "$d/merge" "$bin" "$CMD" merge --ranges "$root/ranges.json" --json
		# MD5 checks read whole files: those each range (direct) or
		# slice (shuffle) verifies, from ranges.json.
		verified=$(/usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL" s3 cp "$root/ranges.json" - | python3 -c '
import json,sys
r=json.load(sys.stdin)
print(sum(f["size"] for i in r["inputs"] for f in i["files"]))')
		python3 - "$d" "$n" "$mode" "$verified" <<'EOF'
import glob, json, sys
d, n, mode, verified = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
def t(p):
    w, u, s, rss = open(p).read().split()[-4:]
    return float(w), float(u) + float(s), int(rss)
def j(p):
    return json.load(open(p))
workers = sorted(glob.glob(d + "/worker-*.time"))
scatters = sorted(glob.glob(d + "/scatter-*.time"))
every = glob.glob(d + "/*.time")
cpu = sum(t(p)[1] for p in every)
rss = max(t(p)[2] for p in every) / 1024
read = sum(j(p[:-5] + ".json").get("input_bytes", 0) for p in workers + scatters)
wrote = sum(j(p[:-5] + ".json").get("bytes_written", 0) for p in scatters)
# S3 bytes read: the columns decoded (the data files' by the ranges or
# the scatters, the scatter files' by the ranges), plus the whole data
# files once for their MD5s, plus, shuffled, the scatter files once more
# for theirs.
read += verified + wrote
# Bytes read on the wire: the object data every process's GETs received
# (its --json "s3" counters), footers, samples and markers included.
wire = 0
for p in every:
    try:
        wire += j(p[:-5] + ".json").get("s3", {}).get("bytes_read", 0)
    except ValueError:
        pass
sw = max((t(p)[0] for p in scatters), default=0)
ww = max(t(p)[0] for p in workers)
print(f"{mode:<8} {n:3d} {sw:10.2f} {ww:10.2f} {cpu:10.2f} {rss:8.0f} {read / 1e6:14.1f} {wire / 1e6:14.1f} {wrote / 1e6:14.1f}")
EOF
	done
done
