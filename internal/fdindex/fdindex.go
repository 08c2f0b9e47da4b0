// Package fdindex maps registered fds to a backend's registration slots.
//
// The kernel hands out the lowest free fd, so registered fds are small and
// dense, and a slice indexed by fd (the kernel's own fdtable shape) answers
// a lookup — Modify, a oneshot source's re-arm on every event — with one
// bounds check where a map would hash the key.
package fdindex

// Index maps fd to slot. The zero value is empty and ready.
type Index[S ~int32 | ~uint32] struct {
	slot1 []S // slot+1 by fd; 0: not registered
}

// Get returns fd's slot.
func (x *Index[S]) Get(fd int) (S, bool) {
	if uint(fd) >= uint(len(x.slot1)) {
		return 0, false
	}
	s := x.slot1[fd]
	return s - 1, s != 0
}

// Set records fd's slot; fd is non-negative (the caller has checked it, or
// the kernel has accepted it). The table grows by doubling, at registration
// time only; it is as long as the largest fd registered (4 bytes an entry).
func (x *Index[S]) Set(fd int, slot S) {
	if fd >= len(x.slot1) {
		t := make([]S, max(fd+1, 2*len(x.slot1), 64))
		copy(t, x.slot1)
		x.slot1 = t
	}
	x.slot1[fd] = slot + 1
}

// Del forgets fd.
func (x *Index[S]) Del(fd int) {
	if uint(fd) < uint(len(x.slot1)) {
		x.slot1[fd] = 0
	}
}
