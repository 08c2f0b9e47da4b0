package ring

// Split is the classic SPSC ring (design 3), as io_uring's SQ and CQ: head
// and tail on separate cache lines, free-running 32-bit counters, and each
// side keeps a cached copy of the other's counter, re-reading the shared one
// only when the cached value says full (producer) or empty (consumer). In
// streaming mode the control lines then move once per lap of the ring
// rather than once per record, and the far side's writes never invalidate
// the line a side is reading for its own counter.
//
// Any slot count works: the counters run free (full = tail-head == slots)
// and each side keeps its own wrapped position beside its counter.
type Split struct {
	mem   []byte // head line, tail line, then records
	size  int
	slots int
	_     pad
	// producer-only
	tail       uint32 // published
	ptail      uint32 // reserved
	toff       int    // ptail's record offset in mem
	cachedHead uint32
	_          pad
	// consumer-only
	head       uint32 // released
	phead      uint32 // taken
	hoff       int    // phead's record offset in mem
	cachedTail uint32
	_          pad
}

const (
	splitHeadOff = 0         // written by the consumer
	splitTailOff = CacheLine // written by the producer
	splitRecOff  = 2 * CacheLine
)

// NewSplit allocates a Split ring of slots records of size bytes.
func NewSplit(slots, size int) (*Split, error) {
	if err := checkRecord("ring.NewSplit", slots, size); err != nil {
		return nil, err
	}
	return &Split{mem: alignedBytes(splitRecOff + slots*size), size: size, slots: slots,
		toff: splitRecOff, hoff: splitRecOff}, nil
}

// Slots is the number of record slots (all usable).
func (r *Split) Slots() int { return r.slots }

// PayloadSize is the record size.
func (r *Split) PayloadSize() int { return r.size }

// Reserve returns the next free record beyond those reserved since the last
// Publish; ok=false means the ring is full.
func (r *Split) Reserve() ([]byte, bool) {
	if r.ptail-r.cachedHead == uint32(r.slots) && !r.refreshHead() {
		return nil, false
	}
	off := r.toff
	p := r.mem[off : off+r.size : off+r.size]
	r.ptail++
	if off += r.size; off == len(r.mem) {
		off = splitRecOff
	}
	r.toff = off
	return p, true
}

// refreshHead re-reads the consumer's head (kept out of Reserve so that the
// common path inlines) and reports whether there is room now.
func (r *Split) refreshHead() bool {
	// Acquire: pairs with the release store of head in Release.
	r.cachedHead = u32(r.mem, splitHeadOff).Load()
	return r.ptail-r.cachedHead != uint32(r.slots)
}

// Publish makes every record reserved since the last Publish visible.
func (r *Split) Publish() {
	r.tail = r.ptail
	// Release: pairs with the acquire load of tail in Next.
	storeReleaseAt(r.mem, splitTailOff, r.tail)
}

// Next returns the next published record beyond those taken since the last
// Release; ok=false means the ring is empty.
func (r *Split) Next() ([]byte, bool) {
	if r.phead == r.cachedTail && !r.refreshTail() {
		return nil, false
	}
	off := r.hoff
	p := r.mem[off : off+r.size : off+r.size]
	r.phead++
	if off += r.size; off == len(r.mem) {
		off = splitRecOff
	}
	r.hoff = off
	return p, true
}

// refreshTail re-reads the producer's tail and reports whether there is a
// record now.
func (r *Split) refreshTail() bool {
	// Acquire: pairs with the release store of tail in Publish.
	r.cachedTail = u32(r.mem, splitTailOff).Load()
	return r.phead != r.cachedTail
}

// Release returns every record taken since the last Release.
func (r *Split) Release() {
	r.head = r.phead
	// Release: pairs with the acquire load of head in Reserve/Drained.
	storeReleaseAt(r.mem, splitHeadOff, r.head)
}

// Drained reports, on the producer side, whether the consumer has released
// everything published.
func (r *Split) Drained() bool {
	// Acquire: pairs with the release store of head in Release.
	r.cachedHead = u32(r.mem, splitHeadOff).Load()
	return r.cachedHead == r.tail
}
