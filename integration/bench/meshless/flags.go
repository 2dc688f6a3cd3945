package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// byteSize is a flag for a number of bytes with an optional unit: "4GiB", "512MiB",
// "1.5GB", "1000". Binary units (KiB, MiB, GiB, TiB, and the bare K, M, G, T) are powers
// of 1024; decimal ones (kB, MB, GB, TB) powers of 1000.
type byteSize int64

var byteUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tib": 1 << 40,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
}

func (b *byteSize) Set(s string) error {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	mult, ok := byteUnits[strings.ToLower(unit)]
	if !ok {
		return fmt.Errorf("unknown unit %q (want B, KiB, MiB, GiB, TiB, kB, MB, GB, TB)", unit)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return fmt.Errorf("%q is not a size", s)
	}
	*b = byteSize(f * mult)
	return nil
}

func (b byteSize) String() string {
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if int64(b) >= u.size && int64(b)%u.size == 0 {
			return fmt.Sprintf("%d%s", int64(b)/u.size, u.name)
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// stringList is a comma-separated flag.
type stringList []string

func (l *stringList) Set(s string) error {
	*l = nil
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

func (l stringList) String() string { return strings.Join(l, ",") }

func (l stringList) has(s string) bool { return slices.Contains(l, s) }

// oneOf checks that every value is a known one.
func (l stringList) oneOf(flagName string, known []string) error {
	for _, v := range l {
		if !slices.Contains(known, v) {
			return fmt.Errorf("%s: unknown %q (want some of %s)", flagName, v, strings.Join(known, ", "))
		}
	}
	return nil
}

// intList is a comma-separated flag of integers.
type intList []int

func (l *intList) Set(s string) error {
	*l = nil
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
		*l = append(*l, n)
	}
	return nil
}

func (l intList) String() string {
	s := make([]string, len(l))
	for i, n := range l {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
