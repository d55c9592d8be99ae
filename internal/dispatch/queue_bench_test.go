package dispatch

import (
	"strconv"
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/message"
)

// BenchmarkQueue pushes and takes in batches of 1,000 as the journaler
// does, with one account and with 20 accounts sharing the queue.
func BenchmarkQueue(b *testing.B) {
	for _, accounts := range []int{1, 20} {
		b.Run("accounts="+strconv.Itoa(accounts), func(b *testing.B) {
			q := newQueue(50000, nil)
			msgs := make([]*message.Message, 4096)
			for i := range msgs {
				msgs[i] = &message.Message{ID: strconv.Itoa(i), Account: "acct" + strconv.Itoa(i%accounts), Parts: 1}
			}
			buf := make([]queued, 0, 1000)
			now := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += 1000 {
				for j := 0; j < 1000; j++ {
					q.tryPush(queued{m: msgs[(i+j)%len(msgs)]}, now)
				}
				buf = benchTake(q, buf[:0], 1000, now)
			}
		})
	}
}

func benchTake(q *queue, dst []queued, n int, now time.Time) []queued {
	dst, _ = q.take(dst, n, now)
	return dst
}
