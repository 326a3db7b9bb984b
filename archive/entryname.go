// Package archive holds the rules for reading entries of tar archives from
// untrusted sources. CTF archives, downloaded artifacts and controller
// manifest bundles all check entry names with EntryName, so one crafted
// name is judged the same way everywhere.
package archive

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// ErrUnsafeName marks a tar entry name that could point outside the
// archive's root or mean different files on different systems.
var ErrUnsafeName = errors.New("unsafe tar entry name")

// NameError says which entry name was refused and why.
type NameError struct {
	Name   string
	Reason string
}

func (e *NameError) Error() string { return fmt.Sprintf("unsafe entry %q: %s", e.Name, e.Reason) }

// Unwrap makes errors.Is(err, ErrUnsafeName) hold.
func (e *NameError) Unwrap() error { return ErrUnsafeName }

// EntryName checks a tar entry name (or hard link target) and returns it
// cleaned, with "/" separators; "." stands for the archive root ("./").
// Refused: empty names, absolute names, volume names, backslashes and NUL,
// and a ".." element anywhere, even where it would stay inside (a/../b):
// writers never produce one, so it only serves to confuse a reader.
func EntryName(name string) (string, error) {
	var reason string
	switch {
	case name == "":
		reason = "empty name"
	case strings.ContainsAny(name, "\\\x00"):
		reason = "backslash or NUL in name"
	case strings.HasPrefix(name, "/") || filepath.IsAbs(name):
		reason = "absolute path"
	case filepath.VolumeName(name) != "":
		reason = "volume name"
	case hasDotDot(name):
		reason = `".." element leaves the archive`
	case !filepath.IsLocal(filepath.FromSlash(name)):
		// What the platform itself refuses (reserved names on Windows).
		reason = "not a local path"
	default:
		return path.Clean(name), nil
	}
	return "", &NameError{Name: name, Reason: reason}
}

func hasDotDot(name string) bool {
	for elem := range strings.SplitSeq(name, "/") {
		if elem == ".." {
			return true
		}
	}
	return false
}
