package fdindex

import "testing"

func TestFDIndex(t *testing.T) {
	var x Index[int32]
	for _, fd := range []int{-1, 0, 5, 1 << 20} {
		if _, ok := x.Get(fd); ok {
			t.Fatalf("empty index has fd %d", fd)
		}
	}
	x.Set(0, 0)
	x.Set(3, 7)
	x.Set(200, 2) // grows past the first allocation
	for fd, want := range map[int]int{0: 0, 3: 7, 200: 2} {
		if s, ok := x.Get(fd); !ok || int(s) != want {
			t.Fatalf("Get(%d) = %d, %v; want %d, true", fd, s, ok, want)
		}
	}
	if _, ok := x.Get(1); ok {
		t.Fatal("fd 1 was never set")
	}
	x.Del(3)
	x.Del(-1)
	x.Del(1 << 20)
	if _, ok := x.Get(3); ok {
		t.Fatal("fd 3 still present after Del")
	}
	if s, ok := x.Get(200); !ok || s != 2 {
		t.Fatalf("Get(200) = %d, %v after an unrelated del", s, ok)
	}
}
