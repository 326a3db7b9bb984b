//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package ctf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// acquireLock takes an exclusive flock on lockFile, creating it if needed.
// The lock belongs to the open file description, so two writers in one
// process exclude each other just like two processes do, and the kernel
// releases it when the holder dies. The file itself is never removed:
// unlinking a lock file lets a waiter lock an orphaned inode while a newcomer
// locks a fresh one.
func acquireLock(ctx context.Context, archive, lockFile string, timeout time.Duration, onWait func()) (*os.File, error) {
	f, err := os.OpenFile(lockFile, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking CTF archive %s: %w", archive, err)
	}
	deadline := time.Now().Add(timeout)
	waiting := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return f, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case !errors.Is(err, syscall.EWOULDBLOCK):
			f.Close()
			return nil, fmt.Errorf("locking CTF archive %s (lock file %s): %w", archive, lockFile, err)
		}
		if !waiting {
			waiting = true
			if onWait != nil {
				onWait()
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			f.Close()
			return nil, &LockedError{Path: archive, LockFile: lockFile, Waited: timeout}
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("interrupted while waiting for the lock on CTF archive %s: %w", archive, ctx.Err())
		case <-time.After(min(left, lockPollInterval)):
		}
	}
}

// releaseLock drops the lock; closing the descriptor alone would do, the
// explicit unlock just makes the release independent of other references.
func releaseLock(f *os.File) error {
	errUnlock := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return errors.Join(errUnlock, f.Close())
}
