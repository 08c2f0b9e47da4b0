// Package clock gives monotonic nanosecond timestamps for latency samples.
package clock

import "time"

var base = time.Now()

// Now is monotonic nanoseconds since process start (vDSO clock_gettime).
func Now() int64 { return int64(time.Since(base)) }
