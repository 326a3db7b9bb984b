package testenv

import (
	"runtime"
	"sync"
	"time"
)

// HeapSample is what SampleHeap measured, in bytes of HeapInuse.
type HeapSample struct {
	Base, Peak uint64
}

// SampleHeap collects garbage, notes HeapInuse and then samples it every
// 20 ms until the returned stop is called, which gives the starting value
// and the peak. It measures the whole test process (manager and clients
// included), which is what a memory bound on streaming must hold for.
func SampleHeap() (stop func() HeapSample) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := HeapSample{Base: ms.HeapInuse, Peak: ms.HeapInuse}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			s.Peak = max(s.Peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() HeapSample {
		close(done)
		wg.Wait()
		return s
	}
}

// MiB converts bytes for messages.
func MiB(n uint64) float64 { return float64(n) / (1 << 20) }
