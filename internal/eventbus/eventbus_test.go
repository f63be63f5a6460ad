package eventbus

import (
	"slices"
	"testing"
)

func TestLocal(t *testing.T) {
	var b Local[int] // the zero value is ready
	var got []string
	record := func(name string) func(int) {
		return func(n int) { got = append(got, name+":"+string(rune('0'+n))) }
	}
	unA := b.Subscribe(record("a"))
	b.Subscribe(record("b"))
	b.Publish(1)
	unA()
	unA() // again: nothing
	b.Subscribe(func(n int) {
		got = append(got, "c:"+string(rune('0'+n)))
		if n == 2 {
			b.Subscribe(record("d")) // a subscriber may call back into the bus
		}
	})
	b.Publish(2)
	b.Publish(3)
	want := []string{"a:1", "b:1", "b:2", "c:2", "b:3", "c:3", "d:3"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
