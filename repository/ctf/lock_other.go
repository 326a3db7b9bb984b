//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package ctf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Writing needs flock; without it two writers could corrupt an archive, so
// this platform gets read-only CTF support.
func acquireLock(_ context.Context, archive, lockFile string, _ time.Duration, _ func()) (*os.File, error) {
	return nil, fmt.Errorf("locking CTF archive %s (lock file %s): %w", archive, lockFile, errors.ErrUnsupported)
}

func releaseLock(f *os.File) error { return f.Close() }
