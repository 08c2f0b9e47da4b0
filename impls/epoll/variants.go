package epoll

import "kbench/notify"

// Variants are epoll's result rows: one per trigger mode.
func Variants() []notify.Variant {
	open := func(o notify.Options) (notify.Notifier, error) { return NewWith(o) }
	return []notify.Variant{
		{Backend: "epoll", Name: "lt", Trigger: notify.Level, Note: "level-triggered", Open: open},
		{Backend: "epoll", Name: "et", Trigger: notify.Edge, Note: "EPOLLET, drain to EAGAIN", Open: open},
		{Backend: "epoll", Name: "oneshot", Trigger: notify.Oneshot, Note: "EPOLLONESHOT, EPOLL_CTL_MOD re-arm", Open: open},
	}
}
