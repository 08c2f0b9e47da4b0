package results

import (
	"math"
	"slices"
)

// Machine drift. A row's repetitions are independent trials run in rounds
// (every row once per round, the engine's Rounds), so the order-statistic
// interval of its median covers the machine states this invocation's
// rounds visited. This machine's speed moves by tens of percent over
// seconds, for every row at once, and one invocation visits only a few of
// its states: measured on five back-to-back invocations of the same rows,
// one invocation's [min, max] held another's median in 61 % of the pairs
// (README, "How far an interval holds").
//
// The rounds show how far the machine moved: in round t, each row's value
// over its own median is that row's view of the machine's state, and the
// median of those views over all rows is the round's machine factor f_t,
// common to every row. Drift is the standard deviation of log f_t over the
// rounds, per metric. A row's interval is widened by it on each side
// (Lo·e^−d, Hi·e^d): the figure is claimed for this machine under the
// drift its rounds showed, not only for the moments they happened to hit.
// With one row the factor is that row's own scatter, which only widens its
// interval. Fewer than three rounds give no drift (0).

// minDriftRounds: a standard deviation from fewer rounds is not one.
const minDriftRounds = 3

// MachineDrift returns, per metric name, the drift over the rounds of
// rows: the rows one invocation ran in interleaved rounds (sample.Rep is
// the round). Values that are not finite and positive are left out, and
// so are rows that did not measure.
func MachineDrift(rows []*Result) map[string]float64 {
	// views[metric][round] collects log(value / row median) over rows.
	views := map[string]map[int][]float64{}
	for _, r := range rows {
		if r == nil || !r.Status.Measured() {
			continue
		}
		for _, u := range r.Units {
			var vals []float64
			for _, s := range r.Samples {
				if v, ok := s.Values[u.Name]; ok && finite(v) && v > 0 {
					vals = append(vals, v)
				}
			}
			if len(vals) < minDriftRounds {
				continue
			}
			med := Median(vals)
			if views[u.Name] == nil {
				views[u.Name] = map[int][]float64{}
			}
			for _, s := range r.Samples {
				if v, ok := s.Values[u.Name]; ok && finite(v) && v > 0 {
					views[u.Name][s.Rep] = append(views[u.Name][s.Rep], math.Log(v/med))
				}
			}
		}
	}
	drift := map[string]float64{}
	for name, rounds := range views {
		if len(rounds) < minDriftRounds {
			continue
		}
		f := make([]float64, 0, len(rounds))
		for _, v := range rounds {
			slices.Sort(v)
			f = append(f, Median(v))
		}
		var mean float64
		for _, x := range f {
			mean += x
		}
		mean /= float64(len(f))
		var ss float64
		for _, x := range f {
			ss += (x - mean) * (x - mean)
		}
		if d := math.Sqrt(ss / float64(len(f)-1)); finite(d) && d > 0 {
			drift[name] = d
		}
	}
	return drift
}

// widen returns iv widened by drift d on each side: Lo·e^−d and Hi·e^d
// for positive ends (the other way round for negative ones).
func (iv Interval) widen(d float64) Interval {
	if !(d > 0) || !finite(d) {
		return iv
	}
	grow := func(x float64, up bool) float64 {
		if (x > 0) == up {
			return x * math.Exp(d)
		}
		return x * math.Exp(-d)
	}
	iv.Lo, iv.Hi = grow(iv.Lo, false), grow(iv.Hi, true)
	iv.Drift = math.Expm1(d)
	return iv
}
