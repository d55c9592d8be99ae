package gateway

import (
	"context"
	"time"
)

// batcher collects items from a channel into batches: it waits for a first
// item, then takes more until the batch is full or linger has passed since
// that first item. One timer is reused for the whole life of the loop.
type batcher[T any] struct {
	ch     <-chan T
	linger time.Duration
	timer  *time.Timer
	buf    []T
}

func newBatcher[T any](ch <-chan T, size int, linger time.Duration) *batcher[T] {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &batcher[T]{ch: ch, linger: linger, timer: t, buf: make([]T, 0, size)}
}

// next returns the next batch (valid until the following call), or false
// when ctx ended or the channel closed before a first item arrived.
func (b *batcher[T]) next(ctx context.Context) ([]T, bool) {
	b.buf = b.buf[:0]
	select {
	case <-ctx.Done():
		return nil, false
	case it, ok := <-b.ch:
		if !ok {
			return nil, false
		}
		b.buf = append(b.buf, it)
	}
	b.timer.Reset(b.linger)
	defer b.timer.Stop()
	for len(b.buf) < cap(b.buf) {
		select {
		case it, ok := <-b.ch:
			if !ok {
				return b.buf, true
			}
			b.buf = append(b.buf, it)
		case <-b.timer.C:
			return b.buf, true
		}
	}
	return b.buf, true
}
