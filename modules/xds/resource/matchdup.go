package resource

import (
	"slices"
	"strconv"
	"strings"
)

// maxMatchLeaves bounds how many combinations of one filter chain match are compared. A
// match's lists multiply (server names × ALPN × prefixes × ...); a chain over the bound is
// compared as a whole instead, which still catches exact duplicates.
const maxMatchLeaves = 1024

// checkDistinctMatches rejects filter chains that match the same connections. Envoy builds
// a lookup tree from every combination of a match's values and refuses a listener in which
// two chains reach the same leaf, since which chain a connection lands on would be
// arbitrary; this compares the same combinations.
func checkDistinctMatches(ps *problems, chains *path, fcs []FilterChain) {
	if len(fcs) < 2 {
		return
	}
	owner := make(map[string]int)
	for i := range fcs {
		for _, leaf := range matchLeaves(&fcs[i].Match) {
			first, dup := owner[leaf]
			if !dup {
				owner[leaf] = i
				continue
			}
			if first == i {
				continue
			}
			item := chains.item(i)
			mat := item.at("filter_chain_match")
			ps.addf(&mat, "matches the same connections as filter_chains[%d]", first)
			break
		}
	}
}

// matchLeaves lists the combinations a match covers, each as a string key. An empty list
// is one wildcard value, as in Envoy's tree.
func matchLeaves(m *FilterChainMatch) []string {
	dims := [][]string{
		{portKey(m.DestinationPort)},
		prefixKeys(m.PrefixRanges),
		stringKeys(m.ServerNames),
		{m.TransportProtocol},
		stringKeys(m.ApplicationProtocols),
		prefixKeys(m.DirectSourcePrefixRanges),
		{m.SourceType.String()},
		prefixKeys(m.SourcePrefixRanges),
		portKeys(m.SourcePorts),
	}
	total := 1
	for _, d := range dims {
		total *= len(d)
		if total > maxMatchLeaves {
			return []string{wholeMatchKey(dims)}
		}
	}
	leaves := []string{""}
	for _, d := range dims {
		next := make([]string, 0, len(leaves)*len(d))
		for _, l := range leaves {
			for _, v := range d {
				next = append(next, l+"\x00"+v)
			}
		}
		leaves = next
	}
	return leaves
}

// wholeMatchKey is a match's key when it has too many combinations to list: its sorted,
// de-duplicated lists, so that two chains listing the same values in another order still
// collide.
func wholeMatchKey(dims [][]string) string {
	var b strings.Builder
	b.WriteString("whole")
	for _, d := range dims {
		d = slices.Clone(d)
		slices.Sort(d)
		for _, v := range slices.Compact(d) {
			b.WriteByte('\x00')
			b.WriteString(v)
		}
		b.WriteByte('\x01')
	}
	return b.String()
}

func stringKeys(vs []string) []string {
	if len(vs) == 0 {
		return []string{""}
	}
	return vs
}

func prefixKeys[P interface{ String() string }](ps []P) []string {
	if len(ps) == 0 {
		return []string{""}
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func portKey(p uint32) string {
	if p == 0 {
		return ""
	}
	return strconv.FormatUint(uint64(p), 10)
}

func portKeys(ps []uint32) []string {
	if len(ps) == 0 {
		return []string{""}
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = portKey(p)
	}
	return out
}
