package ring

// Record-header bits of the BPF ring buffer (include/uapi/linux/bpf.h,
// BPF_RINGBUF_BUSY_BIT and BPF_RINGBUF_DISCARD_BIT).
const (
	BusyBit    uint32 = 1 << 31 // reserved, not yet committed
	DiscardBit uint32 = 1 << 30 // committed but to be skipped (unused here)
	BusyHeader        = 8       // u32 len|flags, u32 page offset (unused here)
)

// Busy is the BPF-ringbuf-style ring (design 5): producer and consumer
// positions on separate cache lines, and an 8-byte header per record whose
// busy bit says "reserved, not yet written".
//
// As in kernel/bpf/ringbuf.c, the producer reads the consumer position on
// every reservation (no cached copy), marks the header busy, advances and
// publishes the producer position at reservation time — so that, with many
// producers, each owns its record before writing it — and commits by
// clearing the busy bit. The consumer reads the producer position when it
// has caught up with its last read, then trusts the header: a busy record
// stops it. It publishes its own position once per Release, as cilium/ebpf's
// reader does per batch. Records are fixed-size here (BPF's are variable and
// the data area is mapped twice so none wraps; fixed records never straddle
// the end, so one mapping suffices).
type Busy struct {
	mem     []byte // consumer line, producer line, then records
	recSize int    // header + payload
	slots   int
	_       pad
	// producer-only
	prod     uint64 // published producer position (records)
	ppos     int    // prod's slot
	reserved int    // records reserved since the last Publish
	_        pad
	// consumer-only
	cons      uint64 // released consumer position
	pcons     uint64 // taken
	cpos      int    // pcons's slot
	cachedPrd uint64
	_         pad
}

const (
	busyConsOff = 0         // written by the consumer
	busyProdOff = CacheLine // written by the producer
	busyRecOff  = 2 * CacheLine
)

// NewBusy allocates a Busy ring of slots records whose payloads are size
// bytes (each record carries an 8-byte header in addition).
func NewBusy(slots, size int) (*Busy, error) {
	if err := checkRecord("ring.NewBusy", slots, size); err != nil {
		return nil, err
	}
	rs := size + BusyHeader
	return &Busy{mem: alignedBytes(busyRecOff + slots*rs), recSize: rs, slots: slots}, nil
}

// Slots is the number of records.
func (r *Busy) Slots() int { return r.slots }

// PayloadSize is the payload bytes per record.
func (r *Busy) PayloadSize() int { return r.recSize - BusyHeader }

func (r *Busy) rec(i int) []byte {
	off := busyRecOff + i*r.recSize
	return r.mem[off : off+r.recSize : off+r.recSize]
}

// Reserve claims the next record: it checks space against the consumer
// position, marks the header busy and publishes the producer position.
// ok=false means the ring is full.
func (r *Busy) Reserve() ([]byte, bool) {
	// Acquire: pairs with the release store of the consumer position in
	// Release; the consumer has finished with the record we reuse.
	if r.prod-u64(r.mem, busyConsOff).Load() == uint64(r.slots) {
		return nil, false
	}
	rec := r.rec(r.ppos)
	// Ordered before the position store below (release), so a consumer
	// that sees the new position sees the busy header; pairs with the
	// acquire load of the header in Next.
	storeRelease32(u32(rec, 0), uint32(r.recSize-BusyHeader)|BusyBit)
	r.prod++
	r.ppos = inc(r.ppos, r.slots)
	r.reserved++
	// Release: pairs with the acquire load of the producer position in
	// Next; the busy header is visible first.
	storeRelease64(u64(r.mem, busyProdOff), r.prod)
	return rec[BusyHeader:], true
}

// Publish commits every record reserved since the last Publish, oldest
// first, by clearing its busy bit.
func (r *Busy) Publish() {
	i := r.ppos - r.reserved
	if i < 0 {
		i += r.slots
	}
	for ; r.reserved > 0; r.reserved-- {
		// Release: pairs with the acquire load of the header in Next; the
		// payload is written before the bit clears (the kernel uses xchg).
		storeRelease32(u32(r.rec(i), 0), uint32(r.recSize-BusyHeader))
		i = inc(i, r.slots)
	}
}

// Next returns the next committed record beyond those taken since the last
// Release; ok=false means empty or the next record is still busy.
func (r *Busy) Next() ([]byte, bool) {
	if r.pcons == r.cachedPrd {
		// Acquire: pairs with the release store of the position in Reserve.
		r.cachedPrd = u64(r.mem, busyProdOff).Load()
		if r.pcons == r.cachedPrd {
			return nil, false
		}
	}
	rec := r.rec(r.cpos)
	// Acquire: pairs with the release store that clears busy in Publish.
	if u32(rec, 0).Load()&BusyBit != 0 {
		return nil, false
	}
	r.pcons++
	r.cpos = inc(r.cpos, r.slots)
	return rec[BusyHeader:], true
}

// Release returns every record taken since the last Release.
func (r *Busy) Release() {
	r.cons = r.pcons
	// Release: pairs with the acquire load of the consumer position in
	// Reserve/Drained.
	storeRelease64(u64(r.mem, busyConsOff), r.cons)
}

// Drained reports, on the producer side, whether the consumer has released
// everything reserved.
func (r *Busy) Drained() bool {
	// Acquire: pairs with the release store in Release.
	return u64(r.mem, busyConsOff).Load() == r.prod
}
