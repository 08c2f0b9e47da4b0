//go:build race

package kevent

const raceEnabled = true
