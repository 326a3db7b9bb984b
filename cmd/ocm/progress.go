package main

import (
	"io"
	"os"
	"sync"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// progressThreshold: inputs smaller than this finish too fast for a bar to help.
const progressThreshold = 4 << 20

// progress shows a bar per large input on an interactive stderr; elsewhere
// (pipes, CI logs) it stays silent so that output remains clean.
type progress struct {
	once sync.Once
	out  io.Writer
	on   bool
	p    *mpb.Progress
	mu   sync.Mutex
	bars []*mpb.Bar
}

func newProgress(out io.Writer) *progress {
	on := false
	if f, ok := out.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			on = true
		}
	}
	return &progress{out: out, on: on}
}

// wrap returns r, counted by a bar when the input is large (or of unknown size).
func (p *progress) wrap(name string, size int64, r io.Reader) io.Reader {
	if !p.on || (size >= 0 && size < progressThreshold) {
		return r
	}
	p.once.Do(func() { p.p = mpb.New(mpb.WithOutput(p.out), mpb.WithWidth(40)) })
	total := size
	if total < 0 {
		total = 0
	}
	bar := p.p.AddBar(total,
		mpb.PrependDecorators(decor.Name(name, decor.WC{C: decor.DindentRight | decor.DextraSpace})),
		mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f"), decor.Name(" "), decor.AverageSpeed(decor.SizeB1024(0), "% .1f")),
	)
	p.mu.Lock()
	p.bars = append(p.bars, bar)
	p.mu.Unlock()
	return &barReader{r: r, bar: bar, unknown: size < 0}
}

type barReader struct {
	r       io.Reader
	bar     *mpb.Bar
	unknown bool
	n       int64
}

func (b *barReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.unknown {
		b.bar.SetTotal(b.n+1, false)
	}
	b.bar.IncrBy(n)
	if err != nil {
		// Complete (or abort) the bar so Wait returns.
		if err == io.EOF {
			b.bar.SetTotal(b.n, true)
		} else {
			b.bar.Abort(false)
		}
	}
	return n, err
}

// wait ends the display; bars of inputs that were not read to the end
// (a failed build) are aborted first, so it never blocks.
func (p *progress) wait() {
	if p.p == nil {
		return
	}
	p.mu.Lock()
	for _, b := range p.bars {
		if !b.Completed() {
			b.Abort(false)
		}
	}
	p.mu.Unlock()
	p.p.Wait()
}
