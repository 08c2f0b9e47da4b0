package ring

import (
	"encoding/binary"
	"testing"

	"kbench/internal/cpu"
)

// benchCPUs is the placement of the cross-CPU benchmarks: producer on CPU 0,
// consumer on CPU 1 (the consumer is the benchmark goroutine).
const benchProducerCPU, benchConsumerCPU = 0, 1

// benchStream moves b.N records producer→consumer through r in streaming
// mode (producer ahead, full ring = spin) with the given batch, and reports
// ns per record. The loop goes through the spsc interface, which costs the
// same indirect calls for every design.
func benchStream(b *testing.B, r spsc, batch int) {
	b.ReportAllocs()
	n := b.N
	done := make(chan error, 1)
	go func() {
		unpin, err := cpu.Pin(benchProducerCPU)
		if err != nil {
			done <- err
			return
		}
		defer unpin()
		pending := 0
		for i := 0; i < n; {
			p, ok := r.Reserve()
			if !ok {
				if pending > 0 {
					r.Publish()
					pending = 0
				}
				continue
			}
			binary.LittleEndian.PutUint64(p, uint64(i))
			i++
			if pending++; pending == batch {
				r.Publish()
				pending = 0
			}
		}
		if pending > 0 {
			r.Publish()
		}
		done <- nil
	}()
	unpin, err := cpu.Pin(benchConsumerCPU)
	if err != nil {
		b.Skipf("pinning consumer: %v", err)
	}
	defer unpin()
	b.ResetTimer()
	pending := 0
	for want := 0; want < n; {
		p, ok := r.Next()
		if !ok {
			if pending > 0 {
				r.Release()
				pending = 0
			}
			continue
		}
		if binary.LittleEndian.Uint64(p) != uint64(want) {
			b.Fatalf("record %d: got %d", want, binary.LittleEndian.Uint64(p))
		}
		want++
		if pending++; pending == batch {
			r.Release()
			pending = 0
		}
	}
	if pending > 0 {
		r.Release()
	}
	if err := <-done; err != nil {
		b.Skipf("pinning producer: %v", err)
	}
}

func BenchmarkOwned(b *testing.B) {
	for _, payload := range []int{16, 40, 64} {
		b.Run("payload="+itoa(uint64(payload)), func(b *testing.B) {
			r, err := NewOwned(256, payload+OwnedHeader)
			if err != nil {
				b.Fatal(err)
			}
			benchStream(b, r, 1)
		})
	}
}

// BenchmarkOwnedDirect is BenchmarkOwned/payload=40 without the interface:
// the difference is the cost of the indirect calls.
func BenchmarkOwnedDirect(b *testing.B) {
	r, err := NewOwned(256, 48)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := b.N
	done := make(chan error, 1)
	go func() {
		unpin, err := cpu.Pin(benchProducerCPU)
		if err != nil {
			done <- err
			return
		}
		defer unpin()
		for i := 0; i < n; {
			p, ok := r.Reserve()
			if !ok {
				continue
			}
			binary.LittleEndian.PutUint64(p, uint64(i))
			i++
			r.Publish()
		}
		done <- nil
	}()
	unpin, err := cpu.Pin(benchConsumerCPU)
	if err != nil {
		b.Skipf("pinning consumer: %v", err)
	}
	defer unpin()
	b.ResetTimer()
	for want := 0; want < n; {
		p, ok := r.Next()
		if !ok {
			continue
		}
		if binary.LittleEndian.Uint64(p) != uint64(want) {
			b.Fatalf("record %d: got %d", want, binary.LittleEndian.Uint64(p))
		}
		want++
		r.Release()
	}
	if err := <-done; err != nil {
		b.Skipf("pinning producer: %v", err)
	}
}

// BenchmarkOwnedLocal runs both sides on one goroutine, so no line ever
// moves: what is left is the instruction cost of the protocol. Here the
// assembly MOV (default on amd64) loses to an inlined XCHG (-tags
// ring_seqcst), because the assembly call cannot be inlined; across CPUs
// (BenchmarkOwned, ringlab) the MOV wins, as the XCHG waits for the line.
func BenchmarkOwnedLocal(b *testing.B) {
	r, err := NewOwned(256, 48)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p, _ := r.Reserve()
		binary.LittleEndian.PutUint64(p, uint64(i))
		r.Publish()
		q, _ := r.Next()
		if binary.LittleEndian.Uint64(q) != uint64(i) {
			b.Fatal("wrong record")
		}
		r.Release()
	}
}

func benchIndex(b *testing.B, mk func(slots, size int) (spsc, error)) {
	for _, payload := range []int{16, 40, 64} {
		for _, batch := range []int{1, 16} {
			b.Run("payload="+itoa(uint64(payload))+"/batch="+itoa(uint64(batch)), func(b *testing.B) {
				r, err := mk(256, payload)
				if err != nil {
					b.Fatal(err)
				}
				benchStream(b, r, batch)
			})
		}
	}
}

func BenchmarkShared(b *testing.B) {
	benchIndex(b, func(s, n int) (spsc, error) { return NewShared(s, n) })
}

func BenchmarkSplit(b *testing.B) {
	benchIndex(b, func(s, n int) (spsc, error) { return NewSplit(s, n) })
}

func BenchmarkBusy(b *testing.B) {
	benchIndex(b, func(s, n int) (spsc, error) { return NewBusy(s, n) })
}

// BenchmarkTake29 streams through the take29 ring: PutSpare per record on
// the producer, Commit every batch records on the reader.
func BenchmarkTake29(b *testing.B) {
	for _, payload := range []int{16, 40, 64} {
		for _, batch := range []int{1, 16} {
			b.Run("payload="+itoa(uint64(payload))+"/batch="+itoa(uint64(batch)), func(b *testing.B) {
				r, err := NewTake29(256, payload)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				n := b.N
				done := make(chan error, 1)
				go func() {
					unpin, err := cpu.Pin(benchProducerCPU)
					if err != nil {
						done <- err
						return
					}
					defer unpin()
					buf := make([]byte, payload)
					for i := 0; i < n; {
						binary.LittleEndian.PutUint64(buf, uint64(i))
						if r.PutSpare(buf) {
							i++
						}
					}
					done <- nil
				}()
				unpin, err := cpu.Pin(benchConsumerCPU)
				if err != nil {
					b.Skipf("pinning consumer: %v", err)
				}
				defer unpin()
				b.ResetTimer()
				var uidx uint32
				pending := 0
				for want := 0; want < n; {
					if uidx == r.Kidx() {
						if pending > 0 {
							if _, err := r.Commit(uidx, r.Over()); err != nil {
								b.Fatal(err)
							}
							pending = 0
						}
						continue
					}
					if binary.LittleEndian.Uint64(r.Record(uidx)) != uint64(want) {
						b.Fatalf("record %d wrong", want)
					}
					want++
					if uidx++; uidx == uint32(r.Slots()) {
						uidx = 0
					}
					if pending++; pending == batch {
						if _, err := r.Commit(uidx, r.Over()); err != nil {
							b.Fatal(err)
						}
						pending = 0
					}
				}
				if err := <-done; err != nil {
					b.Skipf("pinning producer: %v", err)
				}
			})
		}
	}
}
