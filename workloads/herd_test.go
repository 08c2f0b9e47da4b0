package workloads

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"kbench/impls/all"
	"kbench/internal/cpu"
	"kbench/notify"
	"kbench/results"
)

func herdVariants(t *testing.T, ids ...string) []notify.Variant {
	t.Helper()
	var out []notify.Variant
	for _, id := range ids {
		found := false
		for _, v := range all.Variants() {
			if v.ID() == id {
				out, found = append(out, v), true
			}
		}
		if !found {
			t.Fatalf("no variant %s", id)
		}
	}
	return out
}

func herdCfg() Config {
	cfg := quickCfg()
	cfg.Reps = 1
	cfg.Params = map[string]int{"waiters": 2, "sources": 8, "interval_us": 50}
	return cfg
}

// runHerdRows runs wl's rows for the variants through the engine, as
// kbench run does.
func runHerdRows(ctx context.Context, cfg Config, vs []notify.Variant, wl Workload) []results.Result {
	s := &Suite{Cfg: cfg, Workloads: []Workload{wl}, Variants: vs, Narrowed: true, Seed: 1, Trust: results.DefaultTrust}
	rows, _ := s.Run(ctx)
	return rows
}

func herdByName(rows []results.Result) map[string]results.Result {
	m := map[string]results.Result{}
	for _, r := range rows {
		m[r.Backend+"/"+r.Variant] = r
	}
	return m
}

// measuredRows picks the named rows, failing the test for each missing or
// not measured.
func measuredRows(t *testing.T, rows map[string]results.Result, names ...string) map[string]results.Result {
	t.Helper()
	out := map[string]results.Result{}
	for _, name := range names {
		switch r, ok := rows[name]; {
		case !ok:
			t.Errorf("no row %s", name)
		case !r.Status.Measured():
			t.Errorf("%s: %s (%s)", name, r.Status, r.Reason)
		default:
			out[name] = r
		}
	}
	return out
}

func herdValue(t *testing.T, r results.Result, name string) float64 {
	t.Helper()
	if len(r.Samples) != 1 {
		t.Fatalf("%s/%s: %d samples, want 1", r.Backend, r.Variant, len(r.Samples))
	}
	v, ok := r.Samples[0].Values[name]
	if !ok {
		t.Fatalf("%s/%s: no %s in %v", r.Backend, r.Variant, name, r.Samples[0].Values)
	}
	return v
}

// TestHerdRows: the rows per arrangement and W, every firing taken exactly
// once across the waiters, and the verdicts where an arrangement does not
// apply.
func TestHerdRows(t *testing.T) {
	rows := runHerdRows(context.Background(), herdCfg(), herdVariants(t, "epoll/et", "epoll/oneshot", "kevent/syscall-fd", "kevent/syscall-user", "kevent/take29-fd", "aioring/ring", "aioring/syscall",
		"iouring/plain-multishot", "iouring/coop-multishot"), Herd)
	got := herdByName(rows)
	want := map[string]results.Status{
		"epoll/et shard W1": results.StatusOK, "epoll/et shared W2": results.StatusOK, "epoll/et repl W2": results.StatusOK,
		"epoll/et repl-excl W2": results.StatusOK, "epoll/et shard W2": results.StatusOK,
		"epoll/oneshot shared W2": results.StatusNA, "epoll/oneshot repl W2": results.StatusOK,
		"epoll/oneshot repl-excl W2": results.StatusNA, "epoll/oneshot shard W2": results.StatusOK,
		"kevent/syscall-fd shared W2": results.StatusOK, "kevent/syscall-fd shared-all W2": results.StatusOK,
		"kevent/syscall-fd repl W2":     results.StatusOK,
		"kevent/syscall-fd repl-all W2": results.StatusOK, "kevent/syscall-fd shard W2": results.StatusOK,
		"kevent/syscall-user shard W2": results.StatusNA, "kevent/take29-fd shared W2": results.StatusNA,
		"aioring/ring shared W2": results.StatusNA, "aioring/syscall shared W2": results.StatusOK,
		"iouring/plain-multishot shared W2": results.StatusOK, "iouring/coop-multishot shared W2": results.StatusNA,
	}
	for name, st := range want {
		r, ok := got[name]
		if !ok {
			t.Errorf("no row %s (have %d rows)", name, len(rows))
			continue
		}
		if r.Status != st && !(st == results.StatusOK && r.Status.Measured()) {
			t.Errorf("%s: status %s (%s), want %s", name, r.Status, r.Reason, st)
			continue
		}
		if st == results.StatusNA && r.Reason == "" {
			t.Errorf("%s: n/a without a reason", name)
		}
		if name == "kevent/take29-fd shared W2" && !strings.Contains(r.Reason, "one user index") {
			t.Errorf("%s: reason %q does not name take29's one ring reader", name, r.Reason)
		}
		if !r.Status.Measured() {
			continue
		}
		gen, col, lost, dup := r.Totals()
		if gen == 0 || gen != col || lost != 0 || dup != 0 {
			t.Errorf("%s: generated %d collected %d lost %d dup %d", name, gen, col, lost, dup)
		}
		if r.Params["waiters_share_cpus"] != "true" || r.Params["arrangement"] == "" {
			t.Errorf("%s: params %v", name, r.Params)
		}
		if _, ok := r.Params["producers"]; ok {
			t.Errorf("%s: one producer, but params say producers=%s (a row of one producer is as it always was)", name, r.Params["producers"])
		}
		for _, m := range []string{"events/s", "wasted/event", "csw/event", "p50-ns", "p99-ns", "fairness", "total-cpu-ns/event"} {
			herdValue(t, r, m)
		}
		if h := decodeHist(t, r.Samples[0].Histograms["latency-ns"]); h.TotalCount() != int64(col) {
			t.Errorf("%s: latency histogram holds %d values, want one per firing (%d)", name, h.TotalCount(), col)
		}
	}
}

// TestHerdWakePolicies: what each policy must show whatever the machine.
// kevent's first waker readies the first queue's edge kevent only, so the
// second waiter takes nothing (fairness 0) and no copy is stale; with
// WAKEUP_ALL every queue's kevent is readied by a firing (copies, some of
// them stale). Plain epoll instances are all woken,
// but epoll_wait re-polls the eventfd and drops a drained one, so the
// loser's wake-up shows in its context switches, not in its returns.
func TestHerdWakePolicies(t *testing.T) {
	got := herdByName(runHerdRows(context.Background(), herdCfg(), herdVariants(t, "kevent/syscall-fd"), Herd))
	first, every := got["kevent/syscall-fd repl W2"], got["kevent/syscall-fd repl-all W2"]
	if !first.Status.Measured() || !every.Status.Measured() {
		t.Fatalf("statuses %s (%s), %s (%s)", first.Status, first.Reason, every.Status, every.Reason)
	}
	if f := herdValue(t, first, "fairness"); f != 0 {
		t.Errorf("first waker: fairness %v, want 0 (the second queue is never readied)", f)
	}
	if c := herdValue(t, first, "copies/event"); c != 1 {
		t.Errorf("first waker: copies/event %v, want 1", c)
	}
	// A kevent already on its queue's ready list is not queued again, so
	// a slow waiter gets fewer than one copy per firing: more than one
	// copy in all, and stale ones, is what first-waker cannot give.
	if c := herdValue(t, every, "copies/event"); c <= 1 || c > 2 {
		t.Errorf("WAKEUP_ALL: copies/event %v, want more than 1, at most 2", c)
	}
	if s := herdValue(t, every, "stale/event"); s <= 0 {
		t.Errorf("WAKEUP_ALL: stale/event %v, want some", s)
	}
	if s := herdValue(t, first, "stale/event"); s != 0 {
		t.Errorf("first waker: stale/event %v, want 0", s)
	}
}

func TestHerdWs(t *testing.T) {
	for _, c := range []struct {
		max  int
		want string
	}{{1, "[1]"}, {2, "[1 2]"}, {4, "[1 2 4]"}, {6, "[1 2 4 6]"}, {8, "[1 2 4 8]"}} {
		if got := fmt.Sprint(herdWs(c.max)); got != c.want {
			t.Errorf("herdWs(%d) = %s, want %s", c.max, got, c.want)
		}
	}
}

// TestHerdBadWaiters: W below 1 or above what the process may create is
// refused before anything runs.
func TestHerdBadWaiters(t *testing.T) {
	for _, w := range []int{0, -1, herdMaxWaiters + 1} {
		if err := CheckParams(map[string]int{"waiters": w}, []Workload{Herd}, nil); err == nil {
			t.Errorf("waiters=%d accepted", w)
		}
	}
	if err := CheckParams(map[string]int{"waiters": 8}, []Workload{Herd}, nil); err != nil {
		t.Errorf("waiters=8: %v", err)
	}
}

// TestAcceptRows: the accept herd's rows, every connection accepted once
// (or the row fails), and the reuseport baseline in place of sharded.
func TestAcceptRows(t *testing.T) {
	cfg := herdCfg()
	cfg.Params = map[string]int{"waiters": 2, "interval_us": 100}
	got := herdByName(runHerdRows(context.Background(), cfg, herdVariants(t, "epoll/et", "kevent/syscall-fd", "iouring/plain-multishot", "aioring/syscall"), Accept))
	for _, name := range []string{"epoll/et reuseport W1", "epoll/et shared W2", "epoll/et repl W2", "epoll/et repl-excl W2",
		"epoll/et reuseport W2", "kevent/syscall-fd shared W2", "kevent/syscall-fd shared-all W2",
		"kevent/syscall-fd repl W2", "kevent/syscall-fd repl-all W2", "kevent/syscall-fd reuseport W2",
		"iouring/plain-multishot shared W2", "iouring/plain-multishot repl W2", "iouring/plain-multishot maccept W1", "iouring/plain-multishot maccept W2",
		"aioring/syscall shared W2"} {
		r, ok := got[name]
		if !ok {
			t.Errorf("no row %s", name)
			continue
		}
		maccept := strings.Contains(name, "maccept")
		if maccept && r.Status == results.StatusSkipped && r.Reason != "" {
			t.Logf("%s: skipped: %s", name, r.Reason) // a kernel without multishot accept
			continue
		}
		if !r.Status.Measured() {
			t.Errorf("%s: %s (%s)", name, r.Status, r.Reason)
			continue
		}
		gen, col, lost, dup := r.Totals()
		if gen == 0 || gen != col || lost != 0 || dup != 0 {
			t.Errorf("%s: generated %d accepted %d lost %d dup %d", name, gen, col, lost, dup)
		}
		if want := map[bool]string{true: "io_uring-multishot", false: "accept4"}[maccept]; r.Params["accept_op"] != want {
			t.Errorf("%s: accept_op %q, want %s", name, r.Params["accept_op"], want)
		}
		for _, m := range []string{"events/s", "wasted/event", "p99-ns", "fairness"} {
			herdValue(t, r, m)
		}
		if want := map[bool]string{true: "2", false: "1"}[strings.Contains(name, "reuseport W2")]; r.Params["listeners"] != want {
			t.Errorf("%s: listeners %q, want %s", name, r.Params["listeners"], want)
		}
	}
	// kevent's first waker: the first queue's kevent on the listener's
	// storage is the only one readied.
	if f := herdValue(t, got["kevent/syscall-fd repl W2"], "fairness"); f != 0 {
		t.Errorf("kevent first waker: fairness %v, want 0", f)
	}
}

// TestHerdThroughEngine: herd's rows are the engine's: each trial set up
// afresh, trial k of every row in round k in a shuffled order, each
// trial's interference read, the steps counted beforehand.
func TestHerdThroughEngine(t *testing.T) {
	cfg := herdCfg()
	cfg.Reps = 2
	var steps []string
	s := &Suite{Cfg: cfg, Workloads: []Workload{Herd}, Variants: herdVariants(t, "epoll/et"), Narrowed: true, Seed: 7,
		Trust: results.DefaultTrust, Step: func(what string) { steps = append(steps, what) }}
	// shard W1; shared, repl, repl-excl and shard at W2.
	if n := s.Steps(); n != 5*2 {
		t.Errorf("Steps() = %d, want 10", n)
	}
	rows, eng := s.Run(context.Background())
	if len(rows) != 5 || len(steps) != 10 {
		t.Fatalf("%d rows, %d steps; want 5 and 10", len(rows), len(steps))
	}
	if len(eng.Rounds) != 2 || len(eng.Rounds[0]) != 5 || len(eng.Rounds[1]) != 5 {
		t.Fatalf("rounds %v, want two of all five rows", eng.Rounds)
	}
	if slices.Equal(eng.Rounds[0], eng.Rounds[1]) && slices.Equal(eng.Rounds[0], []int{0, 1, 2, 3, 4}) {
		t.Errorf("rounds %v: not shuffled", eng.Rounds)
	}
	for _, r := range rows {
		if !r.Status.Measured() {
			t.Errorf("%s: %s (%s)", r.Variant, r.Status, r.Reason)
			continue
		}
		if len(r.Samples) != 2 || r.Params["reps"] != "2" || r.Params["trials"] != "independent" {
			t.Errorf("%s: %d samples, params reps=%s trials=%s", r.Variant, len(r.Samples), r.Params["reps"], r.Params["trials"])
		}
		for i, smp := range r.Samples {
			if smp.Rep != i || smp.Interference == nil {
				t.Errorf("%s: sample %d has rep %d, interference %v", r.Variant, i, smp.Rep, smp.Interference)
			}
		}
	}
}

// TestHerdDefaultRows: without --impl, herd's and accept's rows are the
// default variants', aioring/syscall in its shared arrangement only, and
// io_uring's multishot accept in the accept herd only.
func TestHerdDefaultRows(t *testing.T) {
	cfg := herdCfg()
	for _, x := range []struct {
		wl        Workload
		want, not []string
	}{
		{Herd, []string{"aioring/syscall shared W2", "aioring/ring repl W2", "epoll/et shared W2", "iouring/plain-multishot shard W1"},
			[]string{"aioring/syscall repl W2", "aioring/syscall shard W1", "epoll/oneshot repl W2", "iouring/plain-multishot maccept W1"}},
		{Accept, []string{"aioring/syscall shared W2", "iouring/plain-multishot maccept W1", "iouring/plain-multishot maccept W2"},
			[]string{"aioring/syscall reuseport W2", "iouring/plain-oneshot maccept W2"}},
	} {
		names := map[string]bool{}
		for _, r := range x.wl.Rows(cfg, all.Variants(), false) {
			names[r.Name] = true
		}
		for _, n := range x.want {
			if !names[n] {
				t.Errorf("%s: no default row %s", x.wl.Name, n)
			}
		}
		for _, n := range x.not {
			if names[n] {
				t.Errorf("%s: default row %s, want none", x.wl.Name, n)
			}
		}
	}
}

// twoProducerCfg is herdCfg with two producer threads pinned to this
// machine's first two CPUs and the waiters on both: producers share CPUs
// with waiters, and the rows must say so.
func twoProducerCfg(t *testing.T) Config {
	t.Helper()
	allowed, err := cpu.Allowed()
	if err != nil || len(allowed) < 2 {
		t.Skipf("need two CPUs: %v %v", allowed, err)
	}
	cfg := herdCfg()
	cfg.ProducerCPU, cfg.ConsumerCPU = allowed[0], allowed[1]
	cfg.ProducerCPUs = []int{allowed[0], allowed[1]}
	cfg.CollectorCPUs = []int{allowed[1], allowed[0]}
	return cfg
}

// checkTwoProducers: a measured row of two producers took every firing
// (connection) exactly once, says where its producers ran, and each
// producer fired some of them, the two counts making the total.
func checkTwoProducers(t *testing.T, name string, r results.Result, cfg Config) {
	t.Helper()
	gen, col, lost, dup := r.Totals()
	if gen == 0 || gen != col || lost != 0 || dup != 0 {
		t.Errorf("%s: generated %d collected %d lost %d dup %d", name, gen, col, lost, dup)
	}
	want := fmt.Sprintf("%d,%d", cfg.ProducerCPUs[0], cfg.ProducerCPUs[1])
	if r.Params["producers"] != "2" || r.Params["producer_cpus"] != want ||
		r.Params["producers_share_cpus"] != "true" || r.Params["waiters_share_cpus"] != "true" {
		t.Errorf("%s: producers %q producer_cpus %q (want %s) producers_share_cpus %q waiters_share_cpus %q", name,
			r.Params["producers"], r.Params["producer_cpus"], want, r.Params["producers_share_cpus"], r.Params["waiters_share_cpus"])
	}
	for _, s := range r.Samples {
		p0, p1 := s.Values["fired-p0"], s.Values["fired-p1"]
		if p0 <= 0 || p1 <= 0 || uint64(p0+p1) != s.Generated {
			t.Errorf("%s rep %d: producers fired %v and %v, want both some and %d in all", name, s.Rep, p0, p1, s.Generated)
		}
	}
}

// TestHerdTwoProducers: herd with two producer threads, each firing its
// own share of the sources: every arrangement's firings taken exactly
// once, the latency histogram one value per firing, and both producers
// fired. A producer firing another's source fails the row (herdProdReports).
func TestHerdTwoProducers(t *testing.T) {
	cfg := twoProducerCfg(t)
	cfg.Reps = 2
	rows := herdByName(runHerdRows(context.Background(), cfg, herdVariants(t, "epoll/et", "kevent/syscall-fd"), Herd))
	for name, r := range measuredRows(t, rows, "epoll/et shard W1", "epoll/et shared W2", "epoll/et repl W2", "epoll/et repl-excl W2", "epoll/et shard W2",
		"kevent/syscall-fd repl W2", "kevent/syscall-fd repl-all W2", "kevent/syscall-fd shard W2") {
		checkTwoProducers(t, name, r, cfg)
		_, col, _, _ := r.Totals()
		if n := totalHist(t, r); n != int64(col) {
			t.Errorf("%s: latency histograms hold %d values, want one per firing (%d)", name, n, col)
		}
	}
	// Fewer sources than producers: a producer would have none.
	cfg.Params["sources"] = 1
	cfg.Params["waiters"] = 1
	for _, r := range runHerdRows(context.Background(), cfg, herdVariants(t, "epoll/et"), Herd) {
		if r.Status != results.StatusNA || !strings.Contains(r.Reason, "sources=1 < producers=2") {
			t.Errorf("%s with one source, two producers: %s (%s), want n/a", r.Variant, r.Status, r.Reason)
		}
	}
}

func totalHist(t *testing.T, r results.Result) int64 {
	t.Helper()
	var n int64
	for _, s := range r.Samples {
		n += decodeHist(t, s.Histograms["latency-ns"]).TotalCount()
	}
	return n
}

// TestAcceptTwoProducers: the accept herd with two producers opening
// connections: every connection accepted exactly once, both producers
// opened some.
func TestAcceptTwoProducers(t *testing.T) {
	cfg := twoProducerCfg(t)
	cfg.Params = map[string]int{"waiters": 2, "interval_us": 100}
	rows := herdByName(runHerdRows(context.Background(), cfg, herdVariants(t, "epoll/et", "kevent/syscall-fd"), Accept))
	for name, r := range measuredRows(t, rows, "epoll/et reuseport W1", "epoll/et shared W2", "epoll/et repl W2", "epoll/et repl-excl W2",
		"epoll/et reuseport W2", "kevent/syscall-fd repl-all W2") {
		checkTwoProducers(t, name, r, cfg)
	}
}

// TestHerdProducerSplit: the sources are split round-robin, each to one
// producer, and every source to one; a repetition in which two producers
// fired one source is an error, not a row.
func TestHerdProducerSplit(t *testing.T) {
	cfg := herdCfg()
	cfg.ProducerCPUs = []int{-1, -1, -1}
	prods := herdProds(cfg, 8)
	if len(prods) != 3 {
		t.Fatalf("%d producers, want 3", len(prods))
	}
	want := [][]int{{0, 3, 6}, {1, 4, 7}, {2, 5}}
	for i, p := range prods {
		if !slices.Equal(p.share, want[i]) {
			t.Errorf("producer %d fires %v, want %v", i, p.share, want[i])
		}
	}
	if one := herdProds(herdCfg(), 8); len(one) != 1 || len(one[0].share) != 8 {
		t.Errorf("one producer: %d producers, first fires %v", len(one), one[0].share)
	}
	report := func(fired ...[]uint64) error {
		prods := herdProds(Config{ProducerCPUs: make([]int, len(fired))}, 64)
		for i, p := range prods {
			copy(p.fired, fired[i])
			p.reports <- repReport{generated: uint64(i + 1)}
		}
		sum, _ := herdProdReports(prods)
		return sum.err
	}
	if err := report([]uint64{0b0101}, []uint64{0b1010}); err != nil {
		t.Errorf("disjoint sources: %v", err)
	}
	if err := report([]uint64{0b0101}, []uint64{0b0110}); err == nil || !strings.Contains(err.Error(), "source 2") {
		t.Errorf("source 2 fired by both producers: %v, want an error naming it", err)
	}
}

// TestEngineMetersEveryProducer: a workload that runs several producers
// has every producer's CPU metered; one that runs one, only the first.
func TestEngineMetersEveryProducer(t *testing.T) {
	s := &Suite{Cfg: Config{ProducerCPU: 0, ProducerCPUs: []int{0, 5, 7}, ConsumerCPU: 1, CollectorCPUs: []int{1, 2}, HelperCPU: -1}}
	if got := s.cpus(Herd); !slices.Equal(got, []int{0, 1, 5, 7, 2}) {
		t.Errorf("herd meters %v, want [0 1 5 7 2]", got)
	}
	if got := s.cpus(Accept); !slices.Contains(got, 5) || !slices.Contains(got, 7) {
		t.Errorf("accept meters %v, want CPUs 5 and 7 among them", got)
	}
	if got := s.cpus(Fanin); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("fanin meters %v, want [0 1]", got)
	}
}
