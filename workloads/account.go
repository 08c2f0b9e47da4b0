package workloads

// ledger checks that firing numbers 1..generated arrive exactly once.
type ledger struct {
	seen     []uint64 // bitmap by firing number
	distinct uint64
	dup      uint64 // a number seen twice, or one never fired
	spurious uint64 // a notification with nothing pending
}

// ledgerPresize caps the bitmap reset sizes up front (8 MiB, 64M firings):
// a long repetition's estimate (an hour at 20M firings/s is 9 GB of bitmap)
// would have reset clear gigabytes before the first Wait, and mark grows
// the bitmap as firings actually arrive.
const ledgerPresize = 1 << 26

func (l *ledger) reset(expect uint64) {
	words := int(min(expect, ledgerPresize)/64) + 1
	if cap(l.seen) < words {
		l.seen = make([]uint64, words)
	}
	l.seen = l.seen[:cap(l.seen)]
	clear(l.seen)
	l.distinct, l.dup, l.spurious = 0, 0, 0
}

// mark records firing seq; the bitmap grows (rarely, amortised) if the
// producer outran the estimate given to reset.
func (l *ledger) mark(seq uint64) {
	if seq == 0 {
		l.spurious++
		return
	}
	w := int(seq / 64)
	if w >= len(l.seen) {
		l.seen = append(l.seen, make([]uint64, w+1-len(l.seen)+len(l.seen))...)
	}
	bit := uint64(1) << (seq % 64)
	if l.seen[w]&bit != 0 {
		l.dup++
		return
	}
	l.seen[w] |= bit
	l.distinct++
}

// settle compares against what the producer says it fired: numbers above
// generated were never fired (duplicates of a sort), and missing ones are lost.
func (l *ledger) settle(generated uint64) (lost, dup uint64) {
	var bogus uint64
	for w := int(generated/64) + 0; w < len(l.seen); w++ {
		word := l.seen[w]
		for word != 0 {
			b := uint64(0)
			for word&(1<<b) == 0 {
				b++
			}
			if uint64(w)*64+b > generated {
				bogus++
			}
			word &^= 1 << b
		}
	}
	good := l.distinct - bogus
	if good < generated {
		lost = generated - good
	}
	return lost, l.dup + bogus
}
