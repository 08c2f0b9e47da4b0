package notify

import (
	"fmt"
	"sync"
)

// Range is the inclusive span of values a variant parameter accepts. Each
// backend declares the ranges of its parameters (DeclareRange) beside their
// defaults; kbench checks a --set value against it before anything runs, so
// a value the backend would refuse, or silently replace, never reaches a row.
type Range struct{ Min, Max int }

// Check refuses v outside r, in one line naming the parameter.
func (r Range) Check(name string, v int) error {
	if v < r.Min || v > r.Max {
		return fmt.Errorf("%s=%d is outside its range %d..%d", name, v, r.Min, r.Max)
	}
	return nil
}

func (r Range) String() string { return fmt.Sprintf("%d..%d", r.Min, r.Max) }

var ranges struct {
	mu sync.Mutex
	m  map[string]Range
}

// DeclareRange records the range of the variant parameter name. Backends
// share names (ring sizes): a second declaration must agree with the first.
func DeclareRange(name string, min, max int) {
	ranges.mu.Lock()
	defer ranges.mu.Unlock()
	if min > max {
		panic(fmt.Sprintf("notify.DeclareRange(%s): min %d > max %d", name, min, max))
	}
	if ranges.m == nil {
		ranges.m = map[string]Range{}
	}
	if old, ok := ranges.m[name]; ok && old != (Range{min, max}) {
		panic(fmt.Sprintf("notify.DeclareRange(%s): %d..%d, already declared %v", name, min, max, old))
	}
	ranges.m[name] = Range{min, max}
}

// ParamRange returns the declared range of a variant parameter.
func ParamRange(name string) (Range, bool) {
	ranges.mu.Lock()
	defer ranges.mu.Unlock()
	r, ok := ranges.m[name]
	return r, ok
}
