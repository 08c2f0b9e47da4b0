//go:build !race

package ringlab

const raceEnabled = false
