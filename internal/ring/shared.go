package ring

// Shared control-line layout: both indices on one cache line, as in the
// mmap'd struct aio_ring (head at byte 8, tail at byte 12 after id and nr).
const (
	sharedHeadOff = 8
	sharedTailOff = 12
)

// Shared is the AIO-style ring (design 2): one control line holding both
// the consumer's head and the producer's tail, then the records. Every
// Reserve reads head and every Publish writes tail; every Next reads tail
// and every Release writes head. Since both words live on one line, each
// side's write invalidates the line the other side is about to read: this is
// the "shared head/tail cache line" the 2006 review held against AIO's ring.
//
// Indices wrap modulo the slot count (not a mask, like aio_ring's nr), and
// one slot stays empty so head == tail means empty: capacity is slots-1.
type Shared struct {
	mem   []byte // control line, then slots*size record bytes
	size  int
	slots int
	_     pad
	tail  int // producer: published tail
	ptail int // producer: next slot to reserve (tail + reserved)
	_     pad
	head  int // consumer: released head
	phead int // consumer: next slot to take (head + taken)
	_     pad
}

// NewShared allocates a Shared ring of slots records of size bytes.
func NewShared(slots, size int) (*Shared, error) {
	if err := checkRecord("ring.NewShared", slots, size); err != nil {
		return nil, err
	}
	return &Shared{mem: alignedBytes(CacheLine + slots*size), size: size, slots: slots}, nil
}

// Slots is the number of record slots (capacity is Slots()-1).
func (r *Shared) Slots() int { return r.slots }

// PayloadSize is the record size.
func (r *Shared) PayloadSize() int { return r.size }

func (r *Shared) rec(i int) []byte {
	off := CacheLine + i*r.size
	return r.mem[off : off+r.size : off+r.size]
}

func inc(i, n int) int {
	if i++; i == n {
		return 0
	}
	return i
}

// Reserve returns the next free record, beyond any reserved since the last
// Publish; ok=false means the ring is full.
func (r *Shared) Reserve() ([]byte, bool) {
	next := inc(r.ptail, r.slots)
	// Acquire: pairs with the release store of head in Release, so the
	// consumer is done with the record we are about to overwrite.
	if next == int(u32(r.mem, sharedHeadOff).Load()) {
		return nil, false
	}
	p := r.rec(r.ptail)
	r.ptail = next
	return p, true
}

// Publish makes every record reserved since the last Publish visible.
func (r *Shared) Publish() {
	r.tail = r.ptail
	// Release: pairs with the acquire load of tail in Next; the records
	// are written before the tail that covers them.
	storeReleaseAt(r.mem, sharedTailOff, uint32(r.tail))
}

// Next returns the next published record beyond any taken since the last
// Release; ok=false means the ring is empty.
func (r *Shared) Next() ([]byte, bool) {
	// Acquire: pairs with the release store of tail in Publish.
	if r.phead == int(u32(r.mem, sharedTailOff).Load()) {
		return nil, false
	}
	p := r.rec(r.phead)
	r.phead = inc(r.phead, r.slots)
	return p, true
}

// Release returns every record taken since the last Release.
func (r *Shared) Release() {
	r.head = r.phead
	// Release: pairs with the acquire load of head in Reserve/Drained.
	storeReleaseAt(r.mem, sharedHeadOff, uint32(r.head))
}

// Drained reports, on the producer side, whether the consumer has released
// everything published.
func (r *Shared) Drained() bool {
	// Acquire: pairs with the release store of head in Release.
	return int(u32(r.mem, sharedHeadOff).Load()) == r.tail
}
