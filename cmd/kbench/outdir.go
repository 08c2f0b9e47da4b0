package main

import "kbench/results"

// checkOut refuses, before the first row, a --out that cannot take the
// result files: it is created if missing, and must be a directory this
// process may write. Minutes of measuring then never end in nowhere to put
// them.
func checkOut(f runFlags) error {
	if f.noFiles {
		return nil
	}
	if err := results.CheckDir(f.out); err != nil {
		return usagef("--out: %v", err)
	}
	return nil
}
