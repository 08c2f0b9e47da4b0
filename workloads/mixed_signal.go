package workloads

import "golang.org/x/sys/unix"

// Stand-ins for notify's signal helpers until they land.
func blockSignal(sig int) error {
	var set unix.Sigset_t
	set.Val[(sig-1)/64] |= 1 << ((sig - 1) % 64)
	return unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil)
}

func raiseSignal(tid, sig int) error {
	return unix.Tgkill(unix.Getpid(), tid, unix.Signal(sig))
}
