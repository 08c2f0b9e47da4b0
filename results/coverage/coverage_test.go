package coverage

import (
	"strings"
	"testing"

	"kbench/results"
)

// withTrust is a row whose file recorded its headline interval.
func withTrust(variant string, med, lo, hi float64) results.Result {
	r := results.Result{Workload: "fanin", Backend: "epoll", Variant: variant, Status: results.StatusOK,
		Units:   []results.Unit{{Name: "events/s", Better: "higher"}},
		Samples: []results.Sample{{Values: map[string]float64{"events/s": med}}},
		Trust: &results.Trust{Headline: "events/s", Intervals: map[string]results.Interval{
			"events/s": {Median: med, Lo: lo, Hi: hi, Confidence: 0.96875, N: 6}}}}
	return r
}

// bare is a row from before intervals were recorded: only samples, with
// the headline second in Units and absent from the first unit.
func bare(variant string, status results.Status, v ...float64) results.Result {
	r := results.Result{Workload: "fanin", Backend: "aio", Variant: variant, Status: status,
		Units: []results.Unit{{Name: "p99", Better: "lower"}, {Name: "events/s", Better: "higher"}}}
	for _, x := range v {
		r.Samples = append(r.Samples, results.Sample{Values: map[string]float64{"events/s": x}})
	}
	return r
}

func files() []*results.File {
	mk := func(rs ...results.Result) *results.File { return &results.File{Schema: results.Schema, Results: rs} }
	return []*results.File{
		mk(withTrust("lt", 100, 90, 110), bare("poll", results.StatusOK, 1, 2, 3, 4, 5, 6),
			withTrust("et", 10, 9, 11), bare("skip", results.StatusSkipped), bare("once", results.StatusOK, 5, 5),
			// The same row at another parameter: names keep them apart.
			func() results.Result {
				r := bare("once", results.StatusOK, 5, 5)
				r.Params = map[string]string{"sources": "16"}
				return r
			}()),
		mk(withTrust("lt", 105, 95, 120), bare("poll", results.StatusNoisy, 2, 3, 4, 5, 6, 7),
			withTrust("et", 10, 9, 11), bare("skip", results.StatusSkipped)),
		mk(withTrust("lt", 55, 50, 60), bare("poll", results.StatusUnstable, 15, 14, 13, 12, 11, 10),
			func() results.Result { r := withTrust("et", 10, 10, 10); r.Status = results.StatusFailed; return r }()),
	}
}

func TestMeasure(t *testing.T) {
	rep, err := Measure(files())
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		// Only files 1 and 2 measured it (failed in 3).
		{Key: "Fanin/backend=epoll/variant=et", Name: "fanin epoll/et", Headline: "events/s", Files: 2, Pairs: 2, Held: 2, Width: 0.1, Confidence: 0.96875},
		// 1→2 and 2→1 hold; nothing holds 3's median or is held by 3's.
		{Key: "Fanin/backend=epoll/variant=lt", Name: "fanin epoll/lt", Headline: "events/s", Files: 3, Pairs: 6, Held: 2, Width: 0.1, Confidence: 0.96875},
		// Recomputed: [1,6] med 3.5; [2,7] med 4.5; [10,15] med 12.5.
		{Key: "Fanin/backend=aio/variant=once", Name: "Fanin/backend=aio/variant=once", Headline: "events/s", Files: 1, Confidence: 0.5},
		{Key: "Fanin/backend=aio/variant=once/sources=16", Name: "Fanin/backend=aio/variant=once/sources=16", Headline: "events/s", Files: 1, Confidence: 0.5},
		{Key: "Fanin/backend=aio/variant=poll", Name: "fanin aio/poll", Headline: "events/s", Files: 3, Pairs: 6, Held: 2, Width: 2.5 / 4.5, Confidence: 0.96875},
	}
	if len(rep.Rows) != len(want) {
		t.Fatalf("rows %+v", rep.Rows)
	}
	for _, w := range want {
		var got *Row
		for i := range rep.Rows {
			if rep.Rows[i].Key == w.Key {
				got = &rep.Rows[i]
			}
		}
		if got == nil {
			t.Errorf("no row %s", w.Key)
			continue
		}
		if d := got.Width - w.Width; d > 1e-12 || d < -1e-12 {
			t.Errorf("%s: width %v, want %v", w.Key, got.Width, w.Width)
		}
		got.Width = w.Width
		if *got != w {
			t.Errorf("got  %+v\nwant %+v", *got, w)
		}
	}
	if rep.Files != 3 || rep.Pairs != 14 || rep.Held != 6 {
		t.Errorf("overall %d/%d over %d files", rep.Held, rep.Pairs, rep.Files)
	}

	var b strings.Builder
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	const golden = `3 invocations: an interval held another invocation's median in 6 of 14 ordered pairs (43%)

row                                        headline  files  held  share  width  confidence
Fanin/backend=aio/variant=once             events/s  1      0/0   -      ±0.0%  50%
Fanin/backend=aio/variant=once/sources=16  events/s  1      0/0   -      ±0.0%  50%
fanin aio/poll                             events/s  3      2/6   33%    ±56%   97%
fanin epoll/et                             events/s  2      2/2   100%   ±10%   97%
fanin epoll/lt                             events/s  3      2/6   33%    ±10%   97%
`
	if b.String() != golden {
		t.Errorf("got\n%s\nwant\n%s", b.String(), golden)
	}
}

func TestMeasureRefuses(t *testing.T) {
	if _, err := Measure(files()[:1]); err == nil {
		t.Error("one file: no error")
	}
	empty := []*results.File{{Schema: results.Schema}, {Schema: results.Schema}}
	if _, err := Measure(empty); err == nil {
		t.Error("no rows: no error")
	}
}
