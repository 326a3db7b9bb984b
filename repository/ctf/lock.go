package ctf

import (
	"fmt"
	"time"
)

// DefaultLockTimeout is how long OpenWritable waits for another writer when
// WriteOptions.LockTimeout is zero.
const DefaultLockTimeout = 2 * time.Minute

// lockPollInterval is how often a waiting writer retries the lock. flock has
// no timed wait, so a blocked writer polls with LOCK_NB.
const lockPollInterval = 100 * time.Millisecond

// LockedError reports that another writer held the archive's lock for longer
// than the lock timeout.
type LockedError struct {
	Path     string        // the archive
	LockFile string        // the lock file it waited for
	Waited   time.Duration // the lock timeout that expired
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("CTF archive %s is locked by another ocm process (lock file %s); gave up after %s", e.Path, e.LockFile, e.Waited)
}
