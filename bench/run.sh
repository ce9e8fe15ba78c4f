#!/usr/bin/env bash
# Benchmarks kv against bbolt, badger and pebble on the same workloads in
# the same run, alternating engines, and writes the results with ratios.
#
#   bench/run.sh          full run: stores of 1k, 100k, 1M and 10M keys;
#                         writes bench/RESULTS.md and bench/charts/*.svg
#   bench/run.sh quick    1k and 100k keys, few runs, to check the script;
#                         writes bench/data/quick/RESULTS.md
#   bench/run.sh smoke    tiny stores, two runs each, for CI;
#                         writes bench/data/smoke/RESULTS.md
#   bench/run.sh stores   only builds (or checks) the full run's stores
#   bench/run.sh build    only builds the binaries (needs only go): .ci/run
#                         starts it early, so the smoke run finds them built
#
# Needs go, hyperfine and /usr/bin/time (GNU time). Binaries go to
# bench/bin, stores to bench/data/stores (both ignored by git). A store is
# reused when its READY marker is there and it answers a get; delete
# bench/data/stores to rebuild (after a change of kv's file format).
#
# To see where a figure goes, build a bench binary with -tags benchprofile:
# it then writes a CPU profile to $BENCH_CPUPROFILE and an execution trace
# (where goroutines wait) to $BENCH_TRACE (bench/internal/workload).
set -euo pipefail
cd "$(dirname "$0")"
export LC_ALL=C

mode=${1:-full}
case $mode in
full | stores)
	sizes="1000 100000 1000000 10000000"; big=1000000; setsize=100000
	rounds=6 runs=20 loadruns=5 randruns=7 randcount=1000000 rssruns=5 compactruns=3 bigvalue=100000000 etcdruns=300
	out=data/full results=RESULTS.md charts=charts ;;
quick)
	sizes="1000 100000"; big=100000; setsize=100000
	rounds=2 runs=5 loadruns=1 randruns=1 randcount=200000 rssruns=2 compactruns=1 bigvalue=100000000 etcdruns=30
	out=data/quick results=data/quick/RESULTS.md charts=data/quick/charts ;;
build) out=data/build ;;
smoke)
	sizes="100 1000"; big=1000; setsize=1000
	rounds=1 runs=2 loadruns=1 randruns=1 randcount=10000 rssruns=1 compactruns=1 bigvalue=8000000 etcdruns=0
	out=data/smoke results=data/smoke/RESULTS.md charts=data/smoke/charts ;;
*)
	echo "usage: bench/run.sh [full|quick|smoke|stores|build]" >&2; exit 2 ;;
esac
engines="kv bbolt badger pebble"
stores=data/stores
work=data/work
raw=$out/raw.tsv
meta=$out/meta.tsv

tools="go hyperfine /usr/bin/time"
[ "$mode" = build ] && tools=go
for tool in $tools; do
	if ! command -v "$tool" >/dev/null; then
		echo "bench/run.sh: $tool is missing (apt-get install hyperfine time)" >&2
		exit 1
	fi
done

log() { printf '[%s %4ss] %s\n' "$(date +%T)" "$SECONDS" "$*" >&2; }

# ---------------------------------------------------------------- build
log "building bench binaries, the kv CLI and the bbolt CLI"
mkdir -p bin
go build -o bin/ ./cmd/...
# The kv CLI is built as .goreleaser.yaml builds the release binary
# (static, trimmed, the older collector); the bbolt CLI as its README
# installs it.
CGO_ENABLED=0 GOEXPERIMENT=nogreenteagc go build -C .. -trimpath -ldflags '-s -w' -o bench/bin/kv .
# So is the floor of a CLI on the libraries kv's must use.
CGO_ENABLED=0 GOEXPERIMENT=nogreenteagc go build -trimpath -ldflags '-s -w' -o bin/floor-libs ./cmd/floor-libs
GOBIN=$PWD/bin GOFLAGS= go install go.etcd.io/bbolt/cmd/bbolt@v1.5.0
# And as kv's release is built, for a like-for-like row (informative).
GOBIN=$PWD/bin/static GOFLAGS= CGO_ENABLED=0 GOEXPERIMENT=nogreenteagc go install -trimpath -ldflags '-s -w' go.etcd.io/bbolt/cmd/bbolt@v1.5.0
[ "$mode" = build ] && exit 0

rm -rf "$out" "$work"
mkdir -p "$out" "$work" "$stores"
: >"$raw"

# rec FIGURE LABEL VALUE: one measurement, tagged with the round $r.
rec() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${r:-0}" >>"$raw"; }
meta() { printf '%s\t%s\n' "$1" "$2" >>"$meta"; }
key() { printf 'key%010d' "$1"; }
human() {
	local n=$1
	if ((n >= 1000000 && n % 1000000 == 0)); then echo "$((n / 1000000))M"
	elif ((n >= 1000 && n % 1000 == 0)); then echo "$((n / 1000))k"
	else echo "$n"; fi
}
# engine LABEL: the engine whose store a label reads.
engine() { case $1 in kv | kv-lib) echo kv ;; bbolt | bbolt-cli*) echo bbolt ;; *) echo "$1" ;; esac; }

# hf FIGURE LABEL RUNS COMMAND...: time whole processes with hyperfine
# and record each run in ms. HF_IGNORE=1 accepts a non-zero exit.
hf() {
	local fig=$1 label=$2 n=$3
	shift 3
	local flags=(-N --style none --warmup 2 --runs "$n" --export-json "$out/hf.json")
	[ "${HF_IGNORE:-}" = 1 ] && flags+=(-i)
	hyperfine "${flags[@]}" -- "$*" >/dev/null 2>>"$out/hyperfine.log"
	local v
	for v in $(bin/bench-report hyperfine "$out/hf.json"); do rec "$fig" "$label" "$v"; done
}

# getcmd LABEL N: the command line of a one-shot get on the N-key store.
getcmd() {
	local label=$1 n=$2 k
	k=$(key $((n / 3)))
	local s=$stores/$(engine "$label")-$n
	case $label in
	kv) echo "bin/kv -d $s get $k" ;;
	bbolt-cli) echo "bin/bbolt get $s/bbolt.db bench $k" ;;
	bbolt-cli-static) echo "bin/static/bbolt get $s/bbolt.db bench $k" ;;
	*) echo "bin/bench-$(engine "$label") get $s $k" ;;
	esac
}
getlabels="kv kv-lib bbolt-cli bbolt-cli-static bbolt badger pebble"

# ---------------------------------------------------------------- meta
{
	meta mode "$mode"
	meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
	meta cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	meta nproc "$(nproc)"
	meta memory "$(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
	meta kernel "$(uname -sr)"
	meta go "$(go version | cut -d' ' -f3-)"
	commit=$(git -C .. rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [ -n "$(git -C .. status --porcelain -- pkg cmd main.go go.mod go.sum 2>/dev/null)" ]; then
		commit="$commit, with uncommitted changes in pkg/ or cmd/"
	fi
	meta "kv commit" "$commit"
	meta peers "$(awk '/go.etcd.io\/bbolt |dgraph-io\/badger\/v4 |cockroachdb\/pebble\/v2 / {printf "%s%s %s", sep, $1, $2; sep=", "}' go.mod); bbolt CLI go.etcd.io/bbolt/cmd/bbolt@v1.5.0"
	meta sizes "$sizes"
	meta big "$big"
	meta setsize "$setsize"
	meta alternation "$rounds rounds, each running every command $runs times after 2 warm-ups, the commands in turn"
	meta data "N records: keys \`key%010d\` over a seeded shuffle of 0..N-1 (PCG(1,2), as pkg/kv's benchmarks), values of 100 seeded pseudo-random bytes (PCG(3,4)); raw size N × 113 bytes. Each engine with its default options (badger and pebble loggers silenced). Stores for the read figures were loaded and then compacted; the \`kv\` CLI and bench-kv read the same store, as do the \`bbolt\` CLI and bench-bbolt (DIR/bbolt.db, bucket \`bench\`)."
	meta loadnote "The \`kv\` CLI row is \`kv load\` reading the same records as jsonl (value_base64) from a file, with its defaults (64 MiB of input a batch, a sync each), timed around the whole process. bench-ENGINE load: open an empty store, write the records in the shuffled order in atomic batches without a sync (kv, badger, pebble: 100,000 records a batch; bbolt: transactions that start at 1,000 records and grow with the tree up to 1M, since a first transaction of 100k random keys into an empty bucket is quadratic, 50 s here, and fixed 10k transactions rewrite the tree over and over, 21k records/s), one sync at the end (kv Sync, bbolt Sync, badger Sync, pebble a synced LogData). Timed from before the open to after the sync; the close (where badger flushes its memtable) is not counted. $loadruns runs per engine, engines in turn."
	meta randnote "bench-ENGINE randget: open read-only, $randcount gets of uniformly random keys (PCG(5,6)) after a warm-up of a tenth of that, each get its own read (bbolt: a View per get; badger: a read transaction per get; values not copied where the engine allows). $randruns runs per engine, in turn."
	meta compactnote "Each run copies the compacted store, overwrites every other record of the load order with new values (one sync), runs \`sync\`, then times the compaction: bench-ENGINE compact (open, compact, close; kv: Compact; bbolt: bbolt.Compact into a new file in 64 MiB transactions with one sync, renamed over; pebble: Compact of the whole key range; badger: reopen with a one-table L0, Flatten, value-log GC), \`kv compact\` and the official \`bbolt compact -o NEW OLD\` (64 KiB transactions, a sync each: its default). MB/s is input bytes (the store's files before) over the wall time. $compactruns runs each."
	meta "load average" "$(cut -d' ' -f1-3 /proc/loadavg) at the start"
}

# ---------------------------------------------------------------- stores
# A store is built by a load followed by a compaction, and marked READY.
for n in $sizes; do
	for e in $engines; do
		s=$stores/$e-$n
		if [ -e "$s/READY" ] && bin/bench-$e get "$s" "$(key 0)" >/dev/null 2>&1; then
			if [ -f "$s.build" ]; then
				rec "build/$n" "$e" "$(cut -f1 "$s.build")"
				rec "buildsecs/$n" "$e" "$(cut -f2 "$s.build")"
			fi
			continue
		fi
		log "building the $(human "$n")-key $e store"
		rm -rf "$s"
		t0=$EPOCHREALTIME
		rate=$(bin/bench-$e load "$s" "$n" 2>/dev/null)
		bin/bench-$e compact "$s" >/dev/null
		touch "$s/READY"
		secs=$(awk "BEGIN {printf \"%.0f\", $EPOCHREALTIME - $t0}")
		# Beside the store, not in it: its size is a figure.
		printf '%s\t%s\t%s\n' "$rate" "$secs" "$(date -u '+%Y-%m-%d %H:%M UTC')" >"$s.build"
		rec "build/$n" "$e" "$rate"
		rec "buildsecs/$n" "$e" "$secs"
		log "  loaded at $rate records/s; load and compaction took $secs s"
	done
done
mkdir -p "$work/nostore"
if [ "$mode" = stores ]; then
	log "stores ready"
	exit 0
fi

# ---------------------------------------------------------------- 1, start-up
log "one-shot get and start-up: $rounds rounds of $runs runs"
for ((r = 1; r <= rounds; r++)); do
	for n in $sizes; do
		for l in $getlabels; do
			# shellcheck disable=SC2046
			hf "get/$n" "$l" "$runs" $(getcmd "$l" "$n")
		done
	done
	HF_IGNORE=1 hf start nostore "$runs" bin/kv -d "$work/nostore" get key
	hf start version "$runs" bin/kv version
	hf start floor "$runs" bin/floor
	hf start floorlibs "$runs" bin/floor-libs
done

# ---------------------------------------------------------------- 2, set
log "one-shot durable set into the $(human $setsize)-key store"
for e in $engines; do cp -a "$stores/$e-$setsize" "$work/set-$e"; done
value=$(printf 'v%.0s' $(seq 100))
for ((r = 1; r <= rounds; r++)); do
	hf set kv "$runs" bin/kv -d "$work/set-kv" set setkey "$value"
	hf set kv-lib "$runs" bin/bench-kv set "$work/set-kv" setkey "$value"
	for e in bbolt badger pebble; do
		hf set "$e" "$runs" "bin/bench-$e" set "$work/set-$e" setkey "$value"
	done
	hf set floorsync "$runs" bin/floor sync "$work/floor.dat"
	hf set floorlibssync "$runs" bin/floor-libs sync "$work/floor.dat"
done
for e in $engines; do
	got=$(bin/bench-$e get "$work/set-$e" setkey)
	[ "$got" = "$value" ] || { echo "bench/run.sh: $e lost the one-shot set" >&2; exit 1; }
	rm -rf "$work/set-$e"
done

# ---------------------------------------------------------------- 3, load
log "bulk load of $(human $big) records, $loadruns runs"
bin/bench-kv jsonl "$work/load.jsonl" "$big"
for ((r = 1; r <= loadruns; r++)); do
	rm -rf "$work/load-cli"
	t0=$EPOCHREALTIME
	bin/kv -d "$work/load-cli" load <"$work/load.jsonl"
	rec load kv "$(awk "BEGIN {print $big / ($EPOCHREALTIME - $t0)}")"
	rm -rf "$work/load-cli"
	for e in $engines; do
		l=$e; [ "$e" = kv ] && l=kv-lib
		rm -rf "$work/load-$e"
		rec load "$l" "$(bin/bench-$e load "$work/load-$e" "$big" 2>/dev/null)"
		rm -rf "$work/load-$e"
	done
done

# ---------------------------------------------------------------- 4, randget
log "random gets on the $(human $big)-key store, $randruns runs"
for ((r = 1; r <= randruns; r++)); do
	for e in $engines; do
		l=$e; [ "$e" = kv ] && l=kv-lib
		rec randget "$l" "$(bin/bench-$e randget "$stores/$e-$big" "$big" "$randcount" 2>/dev/null)"
	done
done

# ---------------------------------------------------------------- 5, space
for e in $engines; do
	l=$e; [ "$e" = kv ] && l=kv-lib
	bytes=$(bin/bench-$e size "$stores/$e-$big")
	rec space "$l" "$(awk "BEGIN {print $bytes / ($big * 113)}")"
done

# ---------------------------------------------------------------- 6, memory
log "peak RSS of a one-shot get on the $(human $big)-key store"
for ((r = 1; r <= rssruns; r++)); do
	for l in $getlabels; do
		# shellcheck disable=SC2046
		/usr/bin/time -f %M -o "$out/rss" $(getcmd "$l" "$big") >/dev/null
		rec rss "$l" "$(awk '{print $1 / 1024}' "$out/rss")"
	done
done

# ---------------------------------------------------------------- 6b, a large value
log "peak RSS of kv set and kv get of one $((bigvalue / 1000000)) MB value"
meta bigvalue "$bigvalue"
head -c "$bigvalue" /dev/urandom >"$work/big.bin"
for ((r = 1; r <= rssruns; r++)); do
	rm -rf "$work/big"
	# rssbig LABEL COMMAND: the peak RSS of COMMAND over the value's size.
	rssbig() {
		local label=$1
		shift
		/usr/bin/time -f %M -o "$out/rss" "$@"
		rec rssbig "$label" "$(awk -v b="$bigvalue" '{print $1 * 1024 / b}' "$out/rss")"
	}
	rssbig "set (pipe)" sh -c "cat $work/big.bin | bin/kv -d $work/big set pipe"
	rssbig "set (file)" bin/kv -d "$work/big" set file <"$work/big.bin"
	rssbig get sh -c "bin/kv -d $work/big get -n file >$work/big.out"
	cmp -s "$work/big.bin" "$work/big.out" || { echo "bench/run.sh: kv get returned another value" >&2; exit 1; }
done
rm -rf "$work/big" "$work/big.bin" "$work/big.out"

# ---------------------------------------------------------------- 6c, every command's peak RSS
# Peak RSS (MiB) of each command that walks a whole store, on the two
# largest stores: dump in each format to a pipe and the table to a
# terminal (script(1) gives it a pty), load of the store's own dump,
# compact, verify and get. A bound is a constant only if the two sizes
# give about the same figure.
rsssizes=$(echo $sizes | tr ' ' '\n' | tail -2 | tr '\n' ' ')
log "peak RSS of every command on the $rsssizes-key stores"
for n in $rsssizes; do
	h=$(human "$n")
	w=$work/rss-$n
	rm -rf "$w" "$w.jsonl"
	cp -a "$stores/kv-$n" "$w"
	rm -f "$w/READY"
	bin/kv -d "$w" dump --format jsonl >"$w.jsonl"
	# rsscmd LABEL COMMAND: the peak RSS of COMMAND in MiB.
	rsscmd() {
		local label=$1
		shift
		/usr/bin/time -f %M -o "$out/rss" "$@" >/dev/null
		rec rsscmd "$label $h" "$(awk '{print $1 / 1024}' "$out/rss")"
	}
	for f in jsonl json tsv table; do
		rsscmd "dump $f (pipe)" bin/kv -d "$w" dump --format "$f"
	done
	rsscmd "dump table (terminal)" script -qec "bin/kv -d $w dump --format table" /dev/null
	rm -rf "$w.load"
	rsscmd "load" bin/kv -d "$w.load" load "$w.jsonl"
	rsscmd "verify" bin/kv -d "$w.load" verify
	rsscmd "compact" bin/kv -d "$w.load" compact
	rsscmd "get" bin/kv -d "$w.load" get "$(key $((n / 3)))"
	rm -rf "$w" "$w.jsonl" "$w.load"
done

# ---------------------------------------------------------------- 7, compaction
log "compaction of the $(human $big)-key store with half its records overwritten, $compactruns runs"
compactrec() { # LABEL IN_BYTES SECONDS OUT_BYTES
	rec compact "$1" "$(awk "BEGIN {print $2 / 1e6 / $3}")"
	rec compactin "$1" "$(awk "BEGIN {print $2 / 1e6}")"
	rec compactout "$1" "$(awk "BEGIN {print $4 / ($big * 113)}")"
}
for ((r = 1; r <= compactruns; r++)); do
	for l in kv kv-lib bbolt-cli bbolt badger pebble; do
		e=$(engine "$l")
		w=$work/compact-$l
		rm -rf "$w"
		cp -a "$stores/$e-$big" "$w"
		rm -f "$w/READY"
		bin/bench-$e overwrite "$w" "$big" >/dev/null 2>&1
		sync
		case $l in
		kv)
			in=$(bin/bench-kv size "$w")
			t0=$EPOCHREALTIME
			bin/kv -d "$w" compact
			t1=$EPOCHREALTIME
			compactrec "$l" "$in" "$(awk "BEGIN {print $t1 - $t0}")" "$(bin/bench-kv size "$w")" ;;
		bbolt-cli)
			in=$(stat -c %s "$w/bbolt.db")
			t0=$EPOCHREALTIME
			bin/bbolt compact -o "$w/new.db" "$w/bbolt.db" >/dev/null
			t1=$EPOCHREALTIME
			compactrec "$l" "$in" "$(awk "BEGIN {print $t1 - $t0}")" "$(stat -c %s "$w/new.db")" ;;
		*)
			read -r in secs _ after < <(bin/bench-$e compact "$w")
			compactrec "$l" "$in" "$secs" "$after" ;;
		esac
		rm -rf "$w"
	done
done

# ---------------------------------------------------------------- 8, completion
log "key completion"
for ((r = 1; r <= rounds; r++)); do
	hf complete kv "$runs" bin/kv -d "$stores/kv-$big" __complete get key00001
	for n in $sizes; do
		hf complete/all "$(human "$n") keys" "$runs" bin/kv -d "$stores/kv-$n" __complete get key00001
	done
done

# ---------------------------------------------------------------- 9, kv on etcd
# kv on one local etcd member against etcdctl, whole processes, the two
# alternating (BenchmarkOneShot in etcd/bench_test.go), and a local get
# beside a kv built without the early hand-over. Needs etcd and etcdctl
# (apt-get install etcd-server etcd-client); the smoke run leaves it out.
if ((etcdruns > 0)) && command -v etcd >/dev/null && command -v etcdctl >/dev/null; then
	log "kv on etcd against etcdctl, $etcdruns rounds"
	go -C ../etcd test -run '^$' -bench OneShot -benchtime "${etcdruns}x" >"$out/etcd.txt"
	# BenchmarkOneShot/get-2 N NS ns/op V1 UNIT1 V2 UNIT2 V3 UNIT3
	while IFS=$'\t' read -r label value; do
		rec etcd "$label" "$value"
	done < <(awk '/^BenchmarkOneShot\// {
		op = substr($1, index($1, "/") + 1); sub(/-[0-9]+$/, "", op)
		for (i = 5; i < NF; i += 2) print op " " $(i + 1) "\t" $i
	}' "$out/etcd.txt")
	meta etcdnote "\`go -C etcd test -run '^\$' -bench OneShot -benchtime ${etcdruns}x\`: each round runs kv, then etcdctl (local-get: kv, then kv built with -tags kv_noearly); medians in ms, and kv's over the other's."
else
	meta etcdnote "Skipped in this run: a smoke run, or etcd or etcdctl is not installed (apt-get install etcd-server etcd-client)."
fi

meta "load average" "$(cut -d' ' -f1-3 /proc/loadavg) at the end, after $SECONDS s"
[ -n "${BENCH_NOTES:-}" ] && printf '%s\n' "$BENCH_NOTES" | while IFS= read -r l; do meta notes "$l"; done
bin/bench-report write "$raw" "$meta" "$results" "$charts"
rm -rf "$work"
log "wrote $results and $charts/"

# The start-up budget: a dependency that slows every process start shows
# as kv version against floor-libs (the same libraries, nothing of kv's).
# The smoke run's times are too few to judge, so only it lets a miss pass.
if grep '^| 0\. ' "$results" | grep -q 'MISS'; then
	grep '^| 0\. ' "$results" >&2
	if [ "$mode" != smoke ]; then
		echo "bench/run.sh: kv's start-up is over its budget: measure the package init a new dependency adds (GODEBUG=inittrace=1 bin/kv version)" >&2
		exit 1
	fi
fi
