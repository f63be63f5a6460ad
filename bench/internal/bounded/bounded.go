// Package bounded runs the load tools' work on many things at once, at
// most a given number at a time: seeding users, signing them in, setting
// calls up and ending them.
//
// It must not import the tools' other packages or the server's.
package bounded

import "sync"

// Do calls f(0) … f(n-1), each on its own goroutine, at most parallel (at
// least one) at a time, and returns once every call has returned.
func Do(n, parallel int, f func(i int)) {
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(i)
		}()
	}
	wg.Wait()
}
