package file

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.yaml", "b.yml", "c.json", "notes.txt", ".hidden.yaml", "sub/d.yaml", "glob/x.yaml", "glob/y.yaml", "glob/z.txt"} {
		write(t, filepath.Join(dir, f), "")
	}
	rel := func(files []string) []string {
		out := make([]string, len(files))
		for i, f := range files {
			out[i], _ = filepath.Rel(dir, f)
		}
		return out
	}
	tests := []struct {
		name    string
		paths   []string
		want    []string
		wantErr string
	}{
		{"directory: manifests directly in it", []string{dir}, []string{"a.yaml", "b.yml", "c.json"}, ""},
		{"plain file, any extension", []string{filepath.Join(dir, "notes.txt")}, []string{"notes.txt"}, ""},
		{"glob", []string{filepath.Join(dir, "glob", "*.yaml")}, []string{"glob/x.yaml", "glob/y.yaml"}, ""},
		{"duplicates removed, sorted", []string{filepath.Join(dir, "glob", "y.yaml"), filepath.Join(dir, "glob", "*")},
			[]string{"glob/x.yaml", "glob/y.yaml", "glob/z.txt"}, ""},
		{"missing path is an error, others load", []string{filepath.Join(dir, "nope"), filepath.Join(dir, "a.yaml")},
			[]string{"a.yaml"}, "no such file"},
		{"bad pattern", []string{filepath.Join(dir, "[")}, nil, "syntax error in pattern"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files, errs := resolve(tc.paths)
			if got := rel(files); !slices.Equal(got, tc.want) {
				t.Errorf("files %v, want %v", got, tc.want)
			}
			switch {
			case tc.wantErr == "" && len(errs) > 0:
				t.Errorf("unexpected errors %v", errs)
			case tc.wantErr != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.wantErr)):
				t.Errorf("errors %v, want one containing %q", errs, tc.wantErr)
			}
		})
	}
}

func TestWatchDirs(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "m", "a.yaml"), "")
	tests := []struct {
		name  string
		paths []string
		want  []string
	}{
		{"directory watches itself", []string{filepath.Join(dir, "m")}, []string{filepath.Join(dir, "m")}},
		{"file watches its directory", []string{filepath.Join(dir, "m", "a.yaml")}, []string{filepath.Join(dir, "m")}},
		{"glob watches its fixed part", []string{filepath.Join(dir, "m", "*.yaml")}, []string{filepath.Join(dir, "m")}},
		{"missing directory watches nearest existing parent", []string{filepath.Join(dir, "later", "deeper")}, []string{dir}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := watchDirs(tc.paths); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
