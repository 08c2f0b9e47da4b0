package epoll

import (
	"testing"

	"kbench/notify"
	"kbench/notify/notifytest"
)

func TestConformance(t *testing.T) {
	notifytest.Run(t, func() (notify.Notifier, error) { return New() })
}
