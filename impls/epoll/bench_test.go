package epoll

import (
	"testing"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// BenchmarkWaitLevelReady is Wait's descriptor path with no producer: 64
// level-triggered eventfds that stay readable, so every Wait reports all 64
// and the figure is one epoll_wait plus 64 translations, per op. It is the
// measure of what the translation loop costs per fd event (the source kinds
// share that loop).
func BenchmarkWaitLevelReady(b *testing.B) {
	const S = 64
	n, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	one := [8]byte{1}
	for i := 0; i < S; i++ {
		fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			b.Fatal(err)
		}
		defer unix.Close(fd)
		unix.Write(fd, one[:])
		if err := n.Add(fd, uint64(i), notify.Readable, notify.Level); err != nil {
			b.Fatal(err)
		}
	}
	ev := make([]notify.Event, S)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if k, err := n.Wait(ev, S, 0); k != S || err != nil {
			b.Fatalf("Wait = %d, %v", k, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/S, "ns/event")
}
