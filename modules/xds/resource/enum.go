package resource

import "strconv"

// enumString names the value i of an enum whose names are listed in order. Every enum of
// this package has String and MarshalText built on it, so that logs and the admin API's
// JSON show "EDS" rather than 2.
func enumString(names []string, i int) string {
	if i >= 0 && i < len(names) && names[i] != "" {
		return names[i]
	}
	return "Unknown(" + strconv.Itoa(i) + ")"
}
