// Package results holds the versioned result schema and its writers (JSON,
// the Go benchmark format, CSV) and readers. Measurement lives in
// workloads/, presentation in results/table and plots/.
package results
