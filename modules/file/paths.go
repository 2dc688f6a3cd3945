package file

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// manifestExts are the file name endings a directory path picks up.
var manifestExts = []string{".yaml", ".yml", ".json"}

func isManifest(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return slices.Contains(manifestExts, ext) && !strings.HasPrefix(filepath.Base(name), ".")
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[`) }

// resolve expands the configured paths into the sorted, de-duplicated list of manifest files
// they name now. A missing plain file or directory is an error for that path only.
func resolve(paths []string) (files []string, errs []error) {
	seen := make(map[string]struct{})
	add := func(f string) {
		if _, ok := seen[f]; !ok {
			seen[f] = struct{}{}
			files = append(files, f)
		}
	}
	for _, p := range paths {
		if hasMeta(p) {
			matches, err := filepath.Glob(p)
			if err != nil {
				errs = append(errs, fmt.Errorf("pattern %q: %w", p, err))
				continue
			}
			for _, m := range matches {
				if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
					add(m)
				}
			}
			continue
		}
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("path %q: %w", p, err))
		case fi.IsDir():
			entries, err := os.ReadDir(p)
			if err != nil {
				errs = append(errs, fmt.Errorf("reading directory %q: %w", p, err))
				continue
			}
			for _, e := range entries {
				if e.Type()&fs.ModeType == 0 || e.Type()&fs.ModeSymlink != 0 {
					if isManifest(e.Name()) {
						add(filepath.Join(p, e.Name()))
					}
				}
			}
		default:
			add(p)
		}
	}
	slices.Sort(files)
	return files, errs
}

// watchDirs returns the directories to watch for the paths: the directory itself, the
// directory holding a file (editors replace files by renaming, which only the directory
// sees), and the fixed directory part of a glob.
func watchDirs(paths []string) []string {
	var dirs []string
	for _, p := range paths {
		dir := filepath.Dir(p)
		if !hasMeta(p) {
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				dir = p
			}
		}
		for hasMeta(dir) {
			dir = filepath.Dir(dir)
		}
		// Watch the nearest directory that exists, so that creating the configured one
		// later is seen too.
		for {
			if _, err := os.Stat(dir); err == nil || filepath.Dir(dir) == dir {
				break
			}
			dir = filepath.Dir(dir)
		}
		if !slices.Contains(dirs, dir) {
			dirs = append(dirs, dir)
		}
	}
	return dirs
}
