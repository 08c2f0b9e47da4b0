//go:build race

package ringlab

const raceEnabled = true
