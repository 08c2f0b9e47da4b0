//go:build !race

package kevent

const raceEnabled = false
