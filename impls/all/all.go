// Package all is the registry of every backend variant, in table order.
package all

import (
	"fmt"
	"sort"
	"strings"

	"kbench/impls/aioring"
	"kbench/impls/epoll"
	"kbench/impls/iouring"
	"kbench/impls/kevent"
	"kbench/notify"
)

// Variants lists every backend variant.
func Variants() []notify.Variant {
	var v []notify.Variant
	v = append(v, epoll.Variants()...)
	v = append(v, aioring.Variants()...)
	v = append(v, iouring.Variants()...)
	v = append(v, kevent.Variants()...)
	return v
}

// Backends lists backend names in table order.
func Backends() []string {
	var names []string
	seen := map[string]bool{}
	for _, v := range Variants() {
		if !seen[v.Backend] {
			seen[v.Backend] = true
			names = append(names, v.Backend)
		}
	}
	return names
}

// Select resolves a comma-separated list of "all", backend names and
// backend/variant ids into variants, in table order, without repeats.
func Select(spec string) ([]notify.Variant, error) {
	all := Variants()
	want := map[string]bool{}
	for _, name := range strings.Split(spec, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		matched := false
		for _, v := range all {
			if name == "all" || name == v.Backend || name == v.ID() {
				want[v.ID()] = true
				matched = true
			}
		}
		if !matched {
			known := append(Backends(), "all")
			sort.Strings(known)
			return nil, fmt.Errorf("unknown backend or variant %q (known backends: %s; `kbench list` shows variants)", name, strings.Join(known, ", "))
		}
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("no backend selected")
	}
	var out []notify.Variant
	for _, v := range all {
		if want[v.ID()] {
			out = append(out, v)
		}
	}
	return out, nil
}
