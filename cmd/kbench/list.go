package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"kbench/impls/all"
	"kbench/notify"
	"kbench/workloads"
)

func listCmd(w io.Writer, args []string) error {
	if len(args) > 0 {
		return usagef("list takes no arguments")
	}
	fmt.Fprintln(w, "backends (variant: trigger, sources; capabilities as opened on this machine):")
	for _, v := range all.Variants() {
		fmt.Fprintf(w, "  %-24s %-9s %-4s %s\n", v.ID(), v.Trigger, v.Sources, capsLine(v))
		if v.Note != "" {
			fmt.Fprintf(w, "  %-24s %s\n", "", v.Note)
		}
		if len(v.Params) > 0 {
			fmt.Fprintf(w, "  %-24s params: %s\n", "", params(v.Params))
		}
	}
	fmt.Fprintln(w, "\nworkloads (parameter=default, the range --set may give it: meaning):")
	for _, wl := range workloads.All() {
		desc := wl.Desc
		if wl.Suite != "" {
			desc += " [suite " + wl.Suite + "]"
		}
		fmt.Fprintf(w, "  %-10s %s\n", wl.Name, desc)
		for _, p := range wl.Params {
			quick := ""
			if p.Quick != 0 && p.Quick != p.Default {
				quick = fmt.Sprintf(" (quick %d)", p.Quick)
			}
			fmt.Fprintf(w, "  %-10s   %s=%d%s, %d..%d: %s\n", "", p.Name, p.Default, quick, p.Min, p.Max, p.Help)
		}
	}
	fmt.Fprintln(w, "\nsuites (--suite; default: every workload not in a named suite):")
	var names []string
	for n := range workloads.Suites {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		s := workloads.Suites[n]
		fmt.Fprintf(w, "  %-10s %s: %s\n", n, strings.Join(s.Workloads, ", "), s.Desc)
	}
	return nil
}

// capsLine opens the variant once to ask what it can do here.
func capsLine(v notify.Variant) string {
	n, err := v.Open(notify.Options{MaxSources: 16, HelperCPU: -1, Params: v.Params})
	if err != nil {
		if notify.IsUnavailable(err) {
			return "unavailable: " + err.Error()
		}
		return "error: " + err.Error()
	}
	defer n.Close()
	c := n.Caps()
	s := "triggers=" + c.Triggers.String() + " native=" + c.Native.String()
	if c.UserSources {
		s += " user-sources"
	}
	if c.Emulated {
		s += " emulated"
	}
	return s
}

// params lists a variant's parameters, sorted, each with its default and
// the range --set may give it.
func params(p map[string]int) string {
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, k := range names {
		part := k + "=" + strconv.Itoa(p[k])
		if r, ok := notify.ParamRange(k); ok {
			part += " (" + r.String() + ")"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, " ")
}
