// Package epoll is the epoll backend: a thin translator between the
// Notifier contract and epoll_ctl/epoll_wait.
//
// Level maps to plain epoll, Edge to EPOLLET, Oneshot to EPOLLONESHOT with
// EPOLL_CTL_MOD as the re-arm. epoll has no multishot. Sub-millisecond
// timeouts use epoll_pwait2 (Linux 5.11+); on older kernels they are rounded
// up to one millisecond, which is epoll_wait's resolution.
//
// The epoll data word carries a registration index, not the token: the
// wake eventfd needs a cookie no token can collide with, and every 64-bit
// value is a valid token. The index is looked up in a slice, so translation
// costs one bounds-checked load per event.
package epoll
