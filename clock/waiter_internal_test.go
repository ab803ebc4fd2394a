package clock

import (
	"container/heap"
	"testing"
	"time"
)

// Waiters due at the same instant fire in registration order. From outside
// the order is invisible (all fire within one Set), so this checks the order
// fire pops them in.
func TestWaiterTiesFireInRegistrationOrder(t *testing.T) {
	s := NewSim(time.Unix(0, 0))
	d := []time.Duration{2, 1, 2, 1, 2, 1, 3}
	cs := make([]<-chan time.Time, len(d))
	for i, di := range d {
		cs[i] = s.After(di)
	}
	want := []int{1, 3, 5, 0, 2, 4, 6}
	for _, i := range want {
		w := heap.Pop(&s.waiters).(waiter)
		if (<-chan time.Time)(w.ch) != cs[i] {
			t.Fatalf("popped deadline %d seq %d, want registration %d", w.deadline, w.seq, i)
		}
	}
}
