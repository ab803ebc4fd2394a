// Command ratios reads the output of several rounds of the benchmarks (one
// `go test -bench` run after another, concatenated) and prints, for every
// row, pgstore's throughput relative to scs and to the floor.
//
// Each ratio is paired: the n-th run of pgstore in a row is compared with
// the n-th run of the other implementation, which ran right after it in the
// same round, and the median of those per-round ratios is printed with
// their range. On a shared machine whose speed drifts by a factor of two
// over seconds, pairing cancels most of the drift that a ratio of medians
// taken over different moments would keep.
//
// Usage:
//
//	go run ./cmd/ratios [-base pgstore] [-vs scs,floor] FILE...
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

func main() {
	base := flag.String("base", "pgstore", "implementation whose throughput is the numerator")
	vs := flag.String("vs", "scs,floor", "comma-separated implementations to compare it with")
	flag.Parse()

	runs := map[string]map[string][]result{} // row -> impl -> runs in order
	var rows []string
	read := func(r io.Reader) error {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			row, impl, res, ok := parse(sc.Text())
			if !ok {
				continue
			}
			if runs[row] == nil {
				runs[row] = map[string][]result{}
				rows = append(rows, row)
			}
			runs[row][impl] = append(runs[row][impl], res)
		}
		return sc.Err()
	}
	if flag.NArg() == 0 {
		if err := read(os.Stdin); err != nil {
			fatal(err)
		}
	}
	for _, name := range flag.Args() {
		f, err := os.Open(name)
		if err != nil {
			fatal(err)
		}
		err = read(f)
		f.Close()
		if err != nil {
			fatal(err)
		}
	}

	others := strings.Split(*vs, ",")
	fmt.Printf("%-32s", "row")
	for _, o := range others {
		fmt.Printf("  %-30s", *base+"/"+o+" ops/s")
	}
	for _, o := range others {
		fmt.Printf("  %-14s", o+"/"+*base+" cpu")
	}
	fmt.Println()
	for _, row := range rows {
		b := runs[row][*base]
		if len(b) == 0 {
			continue
		}
		fmt.Printf("%-32s", row)
		for _, o := range others {
			fmt.Printf("  %-30s", summarize(paired(b, runs[row][o], func(x, y result) float64 { return y.nsPerOp / x.nsPerOp })))
		}
		// CPU per operation, client and server together, of the other
		// implementation relative to pgstore's: above 1, pgstore is cheaper.
		for _, o := range others {
			r := paired(b, runs[row][o], func(x, y result) float64 {
				if x.cpu == 0 {
					return 0
				}
				return y.cpu / x.cpu
			})
			fmt.Printf("  %-14s", median(r))
		}
		fmt.Println()
	}
	fmt.Printf("\nEach cell: median of the per-round ratios [min..max] (n rounds). ops/s ratio >= 1: %s is faster.\n", *base)
}

type result struct {
	nsPerOp float64
	cpu     float64 // client-cpu-ns/op + server-cpu-ns/op, 0 if absent
}

// A benchmark line: name, iterations, then value-unit pairs.
var lineRE = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// parse splits "BenchmarkLoad/clients=1/impl=scs-2 ..." into the row
// "Load/clients=1", the implementation "scs" and the measurements.
func parse(line string) (row, impl string, res result, ok bool) {
	m := lineRE.FindStringSubmatch(line)
	if m == nil {
		return "", "", result{}, false
	}
	var parts []string
	for _, p := range strings.Split(strings.TrimPrefix(m[1], "Benchmark"), "/") {
		if v, found := strings.CutPrefix(p, "impl="); found {
			impl = v
		} else {
			parts = append(parts, p)
		}
	}
	if impl == "" {
		return "", "", result{}, false
	}
	f := strings.Fields(m[2])
	var client, server float64
	for i := 0; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			continue
		}
		switch f[i+1] {
		case "ns/op":
			res.nsPerOp = v
		case "client-cpu-ns/op":
			client = v
		case "server-cpu-ns/op":
			server = v
		}
	}
	if client > 0 && server > 0 {
		res.cpu = client + server
	}
	return strings.Join(parts, "/"), impl, res, res.nsPerOp > 0
}

func paired(a, b []result, ratio func(x, y result) float64) []float64 {
	n := min(len(a), len(b))
	out := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		if r := ratio(a[i], b[i]); r > 0 {
			out = append(out, r)
		}
	}
	return out
}

func median(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return fmt.Sprintf("%.3f", mid(s))
}

func summarize(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return fmt.Sprintf("%.3f [%.2f..%.2f] (%d)", mid(s), s[0], s[len(s)-1], len(s))
}

func mid(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "ratios:", err)
	os.Exit(1)
}
