package deploy

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/singleflight"
)

// Cache keeps downloaded resources on disk, addressed by their verified
// digest, with a size cap enforced by evicting the least recently used
// entries that no caller is reading. Files are written by the fill function
// (the library's download writes a temp file, verifies every digest and
// renames), so an entry is either complete and verified or absent.
type Cache struct {
	dir      string
	maxBytes int64

	mu      sync.Mutex
	entries map[string]*list.Element
	lru     *list.List // front = most recently used
	size    int64
	group   singleflight.Group
}

type cacheEntry struct {
	name  string
	size  int64
	inUse int
}

// NewCache opens (and creates) dir. Entries left from an earlier run are
// adopted, oldest first in LRU order; temp files of interrupted downloads
// are removed.
func NewCache(dir string, maxBytes int64) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating cache directory: %w", err)
	}
	c := &Cache{dir: dir, maxBytes: maxBytes, entries: map[string]*list.Element{}, lru: list.New()}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading cache directory: %w", err)
	}
	type old struct {
		name string
		size int64
		mod  int64
	}
	var olds []old
	for _, de := range des {
		if strings.HasPrefix(de.Name(), ".") {
			os.RemoveAll(filepath.Join(dir, de.Name()))
			continue
		}
		fi, err := de.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		olds = append(olds, old{de.Name(), fi.Size(), fi.ModTime().UnixNano()})
	}
	sort.Slice(olds, func(i, j int) bool { return olds[i].mod > olds[j].mod })
	for _, o := range olds {
		c.entries[o.name] = c.lru.PushBack(&cacheEntry{name: o.name, size: o.size})
		c.size += o.size
	}
	c.mu.Lock()
	c.evictLocked()
	c.mu.Unlock()
	return c, nil
}

// Size is the bytes the cache holds.
func (c *Cache) Size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

func fileName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Get returns the path of the entry for key, calling fill(path) to create
// it when missing (concurrent Gets of one key share one fill). The entry is
// not evicted until release is called.
func (c *Cache) Get(ctx context.Context, key string, fill func(ctx context.Context, path string) error) (string, func(), error) {
	if key == "" {
		return "", nil, errors.New("cache key is empty")
	}
	name := fileName(key)
	p := filepath.Join(c.dir, name)
	if c.acquire(name) {
		return p, c.releaser(name), nil
	}
	_, err, _ := c.group.Do(name, func() (any, error) {
		if c.acquireNoTouch(name) {
			c.release(name)
			return nil, nil
		}
		// fill writes beside p under a dot name and renames, so a crash
		// leaves only a temp file that NewCache removes.
		if err := fill(ctx, p); err != nil {
			os.Remove(p)
			return nil, err
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("cache entry: %w", err)
		}
		c.mu.Lock()
		c.entries[name] = c.lru.PushFront(&cacheEntry{name: name, size: fi.Size()})
		c.size += fi.Size()
		c.mu.Unlock()
		return nil, nil
	})
	if err != nil {
		return "", nil, err
	}
	if !c.acquire(name) {
		return "", nil, fmt.Errorf("cache entry for %s was evicted before use", key)
	}
	return p, c.releaser(name), nil
}

func (c *Cache) acquire(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[name]
	if !ok {
		return false
	}
	el.Value.(*cacheEntry).inUse++
	c.lru.MoveToFront(el)
	return true
}

func (c *Cache) acquireNoTouch(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[name]
	if ok {
		el.Value.(*cacheEntry).inUse++
	}
	return ok
}

func (c *Cache) releaser(name string) func() {
	var once sync.Once
	return func() { once.Do(func() { c.release(name) }) }
}

func (c *Cache) release(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[name]; ok {
		el.Value.(*cacheEntry).inUse--
	}
	c.evictLocked()
}

// evictLocked drops least recently used idle entries until the cache fits.
// An entry larger than the cap is dropped as soon as it is idle.
func (c *Cache) evictLocked() {
	for el := c.lru.Back(); el != nil && c.size > c.maxBytes; {
		prev := el.Prev()
		e := el.Value.(*cacheEntry)
		if e.inUse == 0 {
			os.Remove(filepath.Join(c.dir, e.name))
			c.lru.Remove(el)
			delete(c.entries, e.name)
			c.size -= e.size
		}
		el = prev
	}
}
