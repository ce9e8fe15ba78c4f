// Command bench-report turns the raw measurements of bench/run.sh into
// bench/RESULTS.md and SVG charts.
//
//	bench-report hyperfine FILE.json   print the run times of a hyperfine
//	                                   export, in ms, one a line
//	bench-report write RAW META OUT.md CHARTDIR
//
// RAW has lines "figure<TAB>label<TAB>value<TAB>round" (round 0: not in
// a round; a missing round is 0); META has lines
// "key<TAB>value" describing the machine and the run.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

func main() {
	var err error
	switch {
	case len(os.Args) == 3 && os.Args[1] == "hyperfine":
		err = hyperfine(os.Args[2])
	case len(os.Args) == 6 && os.Args[1] == "write":
		err = write(os.Args[2], os.Args[3], os.Args[4], os.Args[5])
	default:
		err = errors.New("usage: bench-report hyperfine FILE.json | write RAW META OUT.md CHARTDIR")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-report:", err)
		os.Exit(1)
	}
}

func hyperfine(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var r struct {
		Results []struct {
			Times     []float64 `json:"times"`
			ExitCodes []int     `json:"exit_codes"`
		} `json:"results"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(r.Results) != 1 {
		return fmt.Errorf("%s: %d results, want 1", path, len(r.Results))
	}
	for _, t := range r.Results[0].Times {
		fmt.Printf("%.4f\n", t*1000)
	}
	return nil
}

// stat is the summary of one figure for one label.
type stat struct {
	n                int
	median, min, max float64
	values           []float64
	present          bool
}

func summarize(v []float64) stat {
	if len(v) == 0 {
		return stat{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{n: len(s), median: m, min: s[0], max: s[len(s)-1], values: s, present: true}
}

type results struct {
	raw    map[string]map[string][]float64 // figure → label → values
	rounds map[string]map[string][]int     // the round of each value (0: none)
	meta   map[string]string
}

// paired is the summary over rounds of kv's median in a round over the
// peer's median in the same round.
func (r *results) paired(kfig, klabel, pfig, plabel string) stat {
	byRound := func(fig, label string) map[int][]float64 {
		m := map[int][]float64{}
		for i, v := range r.raw[fig][label] {
			if rd := r.rounds[fig][label][i]; rd > 0 {
				m[rd] = append(m[rd], v)
			}
		}
		return m
	}
	k, p := byRound(kfig, klabel), byRound(pfig, plabel)
	var ratios []float64
	for rd, kv := range k {
		if pv, ok := p[rd]; ok {
			if pm := summarize(pv).median; pm != 0 {
				ratios = append(ratios, summarize(kv).median/pm)
			}
		}
	}
	return summarize(ratios)
}

func (r *results) get(fig, label string) stat { return summarize(r.raw[fig][label]) }

func readRaw(path string) (map[string]map[string][]float64, map[string]map[string][]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	raw := map[string]map[string][]float64{}
	rounds := map[string]map[string][]int{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 3 && len(fields) != 4 {
			return nil, nil, fmt.Errorf("%s:%d: want 3 or 4 fields", path, line)
		}
		v, err := strconv.ParseFloat(fields[2], 64)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		round := 0
		if len(fields) == 4 {
			if round, err = strconv.Atoi(fields[3]); err != nil {
				return nil, nil, fmt.Errorf("%s:%d: %w", path, line, err)
			}
		}
		fig, label := fields[0], fields[1]
		if raw[fig] == nil {
			raw[fig], rounds[fig] = map[string][]float64{}, map[string][]int{}
		}
		raw[fig][label] = append(raw[fig][label], v)
		rounds[fig][label] = append(rounds[fig][label], round)
	}
	return raw, rounds, sc.Err()
}

func readMeta(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	meta := map[string]string{}
	for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		k, v, _ := strings.Cut(l, "\t")
		if meta[k] != "" {
			meta[k] += "\n" + v
		} else {
			meta[k] = v
		}
	}
	return meta, nil
}

// Display names of the labels.
var names = map[string]string{
	"kv":               "kv (`kv` CLI)",
	"kv-lib":           "kv (bench-kv)",
	"bbolt-cli":        "bbolt (`bbolt` CLI)",
	"bbolt-cli-static": "bbolt (`bbolt` CLI built static, as kv's release)",
	"bbolt":            "bbolt (bench-bbolt)",
	"badger":           "badger (bench-badger)",
	"pebble":           "pebble (bench-pebble)",
	"nostore":          "`kv get` on no store (start-up + init)",
	"floor":            "floor: Go hello world",
	"floorsync":        "floor: Go hello world + append + fdatasync",
	"floorlibs":        "floor-libs: Go hello world linking Cobra, Viper and tablewriter, built as kv",
	"floorlibssync":    "floor-libs + append + fdatasync",
	"version":          "`kv version`",
}

var order = []string{"kv", "kv-lib", "bbolt-cli", "bbolt-cli-static", "bbolt", "badger", "pebble", "nostore", "version", "floor", "floorlibs", "floorsync", "floorlibssync"}

func name(l string) string {
	if n, ok := names[l]; ok {
		return n
	}
	return l
}

func labels(m map[string][]float64) []string {
	var out []string
	for _, l := range order {
		if _, ok := m[l]; ok {
			out = append(out, l)
		}
	}
	var rest []string
	for l := range m {
		if !slices.Contains(out, l) {
			rest = append(rest, l)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

func num(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1e5:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.1f", v)
	case a >= 10:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func rate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return num(v)
}

// table writes one figure: a row per label, with the ratio of the ref
// label's median to the row's.
func (r *results) table(w io.Writer, fig, unit, ref string, format func(float64) string) {
	m := r.raw[fig]
	if len(m) == 0 {
		fmt.Fprintf(w, "_not measured in this run_\n\n")
		return
	}
	refStat := r.get(fig, ref)
	if ref == "" {
		// Rows of different commands: no ratio between them.
		fmt.Fprintf(w, "| | median %s | min | max | n |\n|---|---:|---:|---:|---:|\n", unit)
		for _, l := range labels(m) {
			s := r.get(fig, l)
			fmt.Fprintf(w, "| %s | %s | %s | %s | %d |\n", name(l), format(s.median), format(s.min), format(s.max), s.n)
		}
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintf(w, "| | median %s | min | max | n | %s / row |\n|---|---:|---:|---:|---:|---:|\n", unit, name(ref))
	for _, l := range labels(m) {
		s := r.get(fig, l)
		ratio := "—"
		if refStat.present && s.median != 0 {
			ratio = fmt.Sprintf("%.2f×", refStat.median/s.median)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %d | %s |\n", name(l), format(s.median), format(s.min), format(s.max), s.n, ratio)
	}
	fmt.Fprintln(w)
}

type target struct {
	what, kv, peer, ratio, paired, verdict string
}

func verdict(ok bool) string {
	if ok {
		return "**pass**"
	}
	return "**MISS**"
}

func sizes(meta map[string]string) []int {
	var out []int
	for _, f := range strings.Fields(meta["sizes"]) {
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}

func human(n int) string {
	switch {
	case n >= 1e6 && n%1e6 == 0:
		return fmt.Sprintf("%dM", n/1e6)
	case n >= 1e3 && n%1e3 == 0:
		return fmt.Sprintf("%dk", n/1e3)
	}
	return strconv.Itoa(n)
}

func (r *results) targets() []target {
	var ts []target
	// add compares kv's figure (kfig, klabel) with the peer's: ok says
	// whether a ratio kv/peer meets the target. The verdict reads the
	// ratio paired by round (both measured in the same round, so drifting
	// load cancels out) when there are two rounds or more.
	add := func(what, kfig, klabel, pfig, plabel string, ok func(ratio float64) bool, format func(float64) string) {
		kv, peer := r.get(kfig, klabel), r.get(pfig, plabel)
		t := target{what: what, kv: "—", peer: "—", ratio: "—", paired: "—", verdict: "not measured"}
		if kv.present {
			t.kv = format(kv.median)
		}
		if peer.present {
			t.peer = format(peer.median)
		}
		if kv.present && peer.present {
			ratio := kv.median / peer.median
			t.ratio = fmt.Sprintf("%.2f", ratio)
			if p := r.paired(kfig, klabel, pfig, plabel); p.n >= 2 {
				t.paired = fmt.Sprintf("%.2f (%.2f–%.2f, %d rounds)", p.median, p.min, p.max, p.n)
				ratio = p.median
			}
			if ok == nil {
				t.verdict = "informative"
			} else {
				t.verdict = verdict(ok(ratio))
			}
		}
		ts = append(ts, t)
	}
	ms := func(v float64) string { return num(v) + " ms" }
	atMost := func(b float64) func(float64) bool { return func(x float64) bool { return x <= b } }
	atLeast := func(b float64) func(float64) bool { return func(x float64) bool { return x >= b } }
	add("0. start-up budget: `kv version` ≤ 1.25 × floor-libs (the same libraries, none of kv's own code)", "start", "version", "start", "floorlibs", atMost(1.25), ms)
	sz := sizes(r.meta)
	for _, n := range sz {
		fig := "get/" + strconv.Itoa(n)
		add(fmt.Sprintf("1. one-shot get, %s keys: `kv get` ≤ `bbolt get`", human(n)), fig, "kv", fig, "bbolt-cli", atMost(1), ms)
	}
	for _, n := range sz {
		fig := "get/" + strconv.Itoa(n)
		add(fmt.Sprintf("1. one-shot get, %s keys, against the `bbolt` CLI built static like kv's release", human(n)), fig, "kv", fig, "bbolt-cli-static", nil, ms)
	}
	if len(sz) > 1 {
		lo, hi := "get/"+strconv.Itoa(sz[0]), "get/"+strconv.Itoa(sz[len(sz)-1])
		add(fmt.Sprintf("1. one-shot get: kv at %s ≤ 1.2 × kv at %s (peer column: kv at %s)", human(sz[len(sz)-1]), human(sz[0]), human(sz[0])),
			hi, "kv", lo, "kv", atMost(1.2), ms)
	}
	add("2. one-shot durable set: `kv set` ≤ bbolt's one-shot set", "set", "kv", "set", "bbolt", atMost(1), ms)
	add("2. one-shot durable set, against the floor (Go start + append + fdatasync)", "set", "kv", "set", "floorsync", nil, ms)
	add("2. one-shot durable set: the floor of any CLI on Cobra, Viper and tablewriter (floor-libs + append + fdatasync; kv column) against bbolt's set", "set", "floorlibssync", "set", "bbolt", nil, ms)
	add("3. bulk load: kv ≥ 2 × pebble (records/s)", "load", "kv-lib", "load", "pebble", atLeast(2), rate)
	add("4. random gets in one process: kv ≥ 1.25 × bbolt (gets/s)", "randget", "kv-lib", "randget", "bbolt", atLeast(1.25), rate)
	ts = append(ts, func() target {
		s := r.get("space", "kv-lib")
		t := target{paired: "—", what: "5. space after compaction ≤ 1.10 × raw key+value bytes", kv: "—", peer: "1.10 (bound)", ratio: "—", verdict: "not measured"}
		if s.present {
			t.kv = fmt.Sprintf("%.3f×", s.median)
			t.ratio = fmt.Sprintf("%.2f", s.median/1.10)
			t.verdict = verdict(s.median <= 1.10)
		}
		return t
	}())
	ts = append(ts, func() target {
		s := r.get("rss", "kv")
		t := target{paired: "—", what: fmt.Sprintf("6. peak RSS of `kv get` on the %s store ≤ 8 MiB", human(atoi(r.meta["big"]))), kv: "—", peer: "8 MiB (bound)", ratio: "—", verdict: "not measured"}
		if s.present {
			t.kv = fmt.Sprintf("%.1f MiB", s.median)
			t.ratio = fmt.Sprintf("%.2f", s.median/8)
			t.verdict = verdict(s.median <= 8)
		}
		return t
	}())
	for _, b := range []struct {
		label string
		bound float64
	}{{"set (pipe)", 2.2}, {"set (file)", 1.2}, {"get", 1.2}} {
		ts = append(ts, func() target {
			s := r.get("rssbig", b.label)
			t := target{paired: "—", what: fmt.Sprintf("6b. peak RSS of `kv %s` of a %s MB value ≤ %.1f × the value", b.label, num(float64(atoi(r.meta["bigvalue"]))/1e6), b.bound),
				kv: "—", peer: fmt.Sprintf("%.1f× (bound)", b.bound), ratio: "—", verdict: "not measured"}
			if s.present {
				t.kv = fmt.Sprintf("%.2f×", s.median)
				t.ratio = fmt.Sprintf("%.2f", s.median/b.bound)
				t.verdict = verdict(s.median <= b.bound)
			}
			return t
		}())
	}
	add("7. compaction MB/s of input: `kv compact` against `bbolt compact` (no number set; read as ≥ 1×)", "compact", "kv", "compact", "bbolt-cli",
		atLeast(1), func(v float64) string { return num(v) + " MB/s" })
	ts = append(ts, func() target {
		s := r.get("complete", "kv")
		t := target{paired: "—", what: fmt.Sprintf("8. `kv __complete get key00001` on the %s store < 50 ms", human(atoi(r.meta["big"]))), kv: "—", peer: "50 ms (bound)", ratio: "—", verdict: "not measured"}
		if s.present {
			t.kv = ms(s.median)
			t.ratio = fmt.Sprintf("%.2f", s.median/50)
			t.verdict = verdict(s.median < 50)
		}
		return t
	}())
	return ts
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func write(rawPath, metaPath, out, chartDir string) error {
	raw, rounds, err := readRaw(rawPath)
	if err != nil {
		return err
	}
	meta, err := readMeta(metaPath)
	if err != nil {
		return err
	}
	r := &results{raw: raw, rounds: rounds, meta: meta}
	var b strings.Builder
	w := &b
	big := human(atoi(meta["big"]))
	fmt.Fprintf(w, "# kv benchmark results\n\n")
	fmt.Fprintf(w, "Written by `bench/run.sh %s` (`bench/cmd/bench-report`); do not edit by hand.\n\n", meta["mode"])
	fmt.Fprintf(w, "## Machine and run\n\n")
	for _, k := range []string{"date", "cpu", "nproc", "memory", "kernel", "go", "kv commit", "peers", "load average"} {
		if v, ok := meta[k]; ok {
			fmt.Fprintf(w, "- **%s**: %s\n", k, v)
		}
	}
	fmt.Fprintf(w, "\nThe machine is shared (%s cores, other builds and tests ran beside this one), so absolute times drift; "+
		"every engine ran the same workload in the same run, alternating (%s), and the ratios are the figures to read. "+
		"Ratios are kv's median over the peer's: for times lower is better for kv, for rates higher is.\n\n", meta["nproc"], meta["alternation"])
	if n := meta["notes"]; n != "" {
		fmt.Fprintf(w, "Notes on this run:\n\n")
		for _, l := range strings.Split(n, "\n") {
			fmt.Fprintf(w, "- %s\n", l)
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "## Targets of the benchmark issue\n\n"+
		"kv / peer is the ratio of the medians; the paired ratio is the median (and range) over rounds of kv's median in a round over the peer's "+
		"in the same round, which cancels load that drifts between rounds. The verdict reads the paired ratio where there is one.\n\n"+
		"| target | kv | peer / bound | kv / peer | paired kv / peer | verdict |\n|---|---:|---:|---:|---:|---|\n")
	for _, t := range r.targets() {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", t.what, t.kv, t.peer, t.ratio, t.paired, t.verdict)
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "## Data\n\n%s\n\n", meta["data"])

	fmt.Fprintf(w, "## 1. One-shot get\n\nA whole process: start, open read-only, get one key, print it, exit (`hyperfine -N`). "+
		"Each store was loaded and then compacted. The `kv` CLI is the product; the bench-ENGINE rows are the minimal binaries of "+
		"bench/cmd, linking one engine each; `bbolt get` is the official CLI (`go.etcd.io/bbolt/cmd/bbolt`).\n\n")
	for _, n := range sizes(meta) {
		fmt.Fprintf(w, "### %s keys\n\n", human(n))
		r.table(w, "get/"+strconv.Itoa(n), "ms", "kv", num)
	}
	fmt.Fprintf(w, "![one-shot get](charts/get.svg)\n\n")
	fmt.Fprintf(w, "### Process start-up, without a store\n\n")
	r.table(w, "start", "ms", "nostore", num)

	fmt.Fprintf(w, "## 2. One-shot durable set (into the %s-key store)\n\nStart, lock, append, fdatasync, exit. bbolt has no CLI `put`, so its figure is bench-bbolt's. "+
		"The floor is a Go process that appends 113 bytes to a file and fdatasyncs it; floor-libs does the same "+
		"linking the libraries the kv CLI must use (Cobra, Viper, tablewriter), static and trimmed as kv is, so it is "+
		"the least any one-shot set on those libraries can take.\n\n", human(atoi(meta["setsize"])))
	r.table(w, "set", "ms", "kv", num)

	fmt.Fprintf(w, "## 3. Bulk load of %s records, one sync at the end\n\n%s\n\n", big, meta["loadnote"])
	r.table(w, "load", "records/s", "kv-lib", rate)
	fmt.Fprintf(w, "![bulk load](charts/load.svg)\n\n")
	fmt.Fprintf(w, "The loads that built the stores of the other figures (one sample each, with the store's compaction in the time; "+
		"a store is reused across runs, so its build may come from an earlier run, under other load; see `data/stores/*.build`):\n\n")
	fmt.Fprintf(w, "| store | engine | load records/s | load + compaction, s |\n|---|---|---:|---:|\n")
	for _, n := range sizes(meta) {
		fig := "build/" + strconv.Itoa(n)
		for _, l := range labels(raw[fig]) {
			fmt.Fprintf(w, "| %s | %s | %s | %.0f |\n", human(n), l, rate(r.get(fig, l).median), r.get("buildsecs/"+strconv.Itoa(n), l).median)
		}
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "## 4. Random gets in one process (%s store)\n\n%s\n\n", big, meta["randnote"])
	r.table(w, "randget", "gets/s", "kv-lib", rate)

	fmt.Fprintf(w, "## 5. Space after compaction (%s store)\n\nBytes of all files in the store directory after load and compaction, over the raw key+value bytes (%s × 113).\n\n", big, big)
	r.table(w, "space", "× raw", "kv-lib", func(v float64) string { return fmt.Sprintf("%.3f", v) })
	fmt.Fprintf(w, "![space](charts/space.svg)\n\n")

	fmt.Fprintf(w, "## 6. Peak RSS of a one-shot get (%s store)\n\n`/usr/bin/time -f %%M`.\n\n", big)
	r.table(w, "rss", "MiB", "kv", num)

	fmt.Fprintf(w, "## 6b. Peak RSS of one large value\n\n`/usr/bin/time -f %%M` of `kv set` (from a pipe and from a file) and `kv get` of one %s MB value, over the value's size.\n\n",
		num(float64(atoi(meta["bigvalue"]))/1e6))
	r.table(w, "rssbig", "× value", "set (pipe)", func(v float64) string { return fmt.Sprintf("%.2f", v) })

	fmt.Fprintf(w, "## 6c. Peak RSS of every command that walks a store\n\n`/usr/bin/time -f %%M` of kv dump in each format (to a pipe, and the table to a terminal through script(1)), kv load of the store's own dump, verify, compact and get, on the two largest stores; a bound is constant where the two sizes agree.\n\n")
	r.table(w, "rsscmd", "MiB", "", num)

	fmt.Fprintf(w, "## 7. Compaction (%s store, half its records overwritten)\n\n%s\n\n", big, meta["compactnote"])
	r.table(w, "compact", "MB/s of input", "kv", num)
	fmt.Fprintf(w, "Input bytes (the store before compaction) and output bytes over raw:\n\n")
	r.table(w, "compactin", "MB in", "kv", num)
	r.table(w, "compactout", "× raw after", "kv", func(v float64) string { return fmt.Sprintf("%.3f", v) })

	fmt.Fprintf(w, "## 8. Key completion\n\n`kv -d STORE __complete get key00001` (at most 200 candidates), `hyperfine -N`.\n\n")
	r.table(w, "complete", "ms", "kv", num)
	if len(raw["complete/all"]) > 0 {
		r.table(w, "complete/all", "ms", "kv", num)
	}

	// Optional: it needs etcd and etcdctl, and the smoke run leaves it
	// out, so its absence is said by the note, not flagged as a broken
	// workload.
	fmt.Fprintf(w, "## 9. kv on etcd\n\n%s\n\n", meta["etcdnote"])
	if len(raw["etcd"]) > 0 {
		r.table(w, "etcd", "", "", func(v float64) string { return fmt.Sprintf("%.3g", v) })
	}

	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return charts(r, chartDir)
}
