// Go counterparts of tokio's benches/rt_multi_threaded.rs.
//
// Each benchmark mirrors the tokio workload of the same (snake_case) name;
// see README.md for the mapping and the places where Go has no exact
// equivalent. Only the standard library is used.
package gpmbench

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	numSpawn = 10_000
	stallDur = 10 * time.Microsecond
)

// stall busy-waits for ~10µs, like tokio's stall(). tokio calls
// std::thread::yield_now() inside the loop; Go has no portable OS-level
// yield in the standard library, so this spins (async preemption keeps it
// from monopolising a P).
func stall() {
	start := time.Now()
	for time.Since(start) < stallDur {
	}
}

// spawn_many_local: from inside a running task, spawn NUM_SPAWN tasks that
// each decrement a shared counter; the last one signals a channel.
func BenchmarkSpawnManyLocal(b *testing.B) {
	done := make(chan struct{}, 1)
	var rem atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rem.Store(numSpawn)
		finished := make(chan struct{})
		go func() {
			for j := 0; j < numSpawn; j++ {
				go func() {
					if rem.Add(-1) == 0 {
						done <- struct{}{}
					}
				}()
			}
			<-done
			close(finished)
		}()
		<-finished
	}
}

// spawn_many_remote_idle: spawn NUM_SPAWN empty tasks from outside, then
// await every handle (WaitGroup).
func BenchmarkSpawnManyRemoteIdle(b *testing.B) {
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		wg.Add(numSpawn)
		for j := 0; j < numSpawn; j++ {
			go func() { wg.Done() }()
		}
		wg.Wait()
	}
}

// spawn_many_remote_busy1: as remote_idle, while 2*workers background tasks
// loop { yield; stall 10µs } for the whole benchmark.
func BenchmarkSpawnManyRemoteBusy1(b *testing.B) {
	var stop atomic.Bool
	var bg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for k := 0; k < 2*workers; k++ {
		bg.Add(1)
		go func() {
			defer bg.Done()
			for !stop.Load() {
				runtime.Gosched()
				stall()
			}
		}()
	}

	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		wg.Add(numSpawn)
		for j := 0; j < numSpawn; j++ {
			go func() { wg.Done() }()
		}
		wg.Wait()
	}
	b.StopTimer()
	stop.Store(true)
	bg.Wait()
}

// ping_pong: one task spawns NUM_PINGS tasks A; each A spawns a task B and
// does two one-shot exchanges with it (A->B, then B->A). The last A to
// finish signals the benchmark.
func BenchmarkPingPong(b *testing.B) {
	const numPings = 1_000
	done := make(chan struct{}, 1)
	var rem atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rem.Store(numPings)
		go func() {
			for j := 0; j < numPings; j++ {
				go func() {
					ch1 := make(chan struct{})
					ch2 := make(chan struct{})
					go func() {
						<-ch1
						ch2 <- struct{}{}
					}()
					ch1 <- struct{}{}
					<-ch2
					if rem.Add(-1) == 0 {
						done <- struct{}{}
					}
				}()
			}
		}()
		<-done
	}
}

// yield_many: 200 tasks each yield 1 000 times, then report on a channel.
func BenchmarkYieldMany(b *testing.B) {
	const (
		numYield = 1_000
		tasks    = 200
	)
	done := make(chan struct{}, tasks)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for t := 0; t < tasks; t++ {
			go func() {
				for y := 0; y < numYield; y++ {
					runtime.Gosched()
				}
				done <- struct{}{}
			}()
		}
		for t := 0; t < tasks; t++ {
			<-done
		}
	}
}

func chainIter(done chan<- struct{}, n int) {
	if n == 0 {
		done <- struct{}{}
		return
	}
	go chainIter(done, n-1)
}

// chained_spawn: each task spawns the next, depth 1 000; the last signals.
func BenchmarkChainedSpawn(b *testing.B) {
	const iter = 1_000
	done := make(chan struct{}, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		go chainIter(done, iter)
		<-done
	}
}
