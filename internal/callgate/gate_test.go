package callgate

import (
	"testing"
	"time"
)

func TestGate(t *testing.T) {
	var g Gate
	if !g.Enter() {
		t.Fatal("an open gate refused a caller")
	}
	idle := make(chan struct{})
	go func() {
		if !g.Close() {
			t.Error("first Close reported the gate already closed")
		}
		g.WaitIdle()
		close(idle)
	}()
	for !g.Closed() {
		time.Sleep(time.Millisecond)
	}
	select {
	case <-idle:
		t.Fatal("WaitIdle returned while a caller was inside")
	case <-time.After(20 * time.Millisecond):
	}
	if g.Enter() {
		t.Error("a closed gate admitted a caller")
	}
	g.Exit()
	select {
	case <-idle:
	case <-time.After(5 * time.Second):
		t.Fatal("WaitIdle did not return after the last caller left")
	}
	if g.Close() {
		t.Error("second Close reported that it closed the gate")
	}
}
