// Command parked measures the resident memory cost of a parked goroutine.
//
// It starts N goroutines (default 1 000 000) that all block receiving from
// ONE shared unbuffered channel that is never sent on, waits until every one
// of them is parked, forces a GC, and compares RSS (from /proc/self/statm)
// against the baseline taken before spawning.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

func rssBytes() uint64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		fmt.Fprintln(os.Stderr, "read /proc/self/statm:", err)
		os.Exit(1)
	}
	fields := strings.Fields(string(data))
	pages, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "parse statm:", err)
		os.Exit(1)
	}
	return pages * uint64(os.Getpagesize())
}

func settle() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	return rssBytes()
}

func main() {
	n := flag.Int("n", 1_000_000, "number of parked goroutines")
	flag.Parse()

	block := make(chan struct{}) // shared, unbuffered, never sent on
	before := settle()
	var msBefore runtime.MemStats
	runtime.ReadMemStats(&msBefore)

	var started atomic.Int64
	start := time.Now()
	for i := 0; i < *n; i++ {
		go func() {
			started.Add(1)
			<-block
		}()
	}
	// Wait until every goroutine has run up to its receive, then give the
	// last few a moment to actually park on the channel.
	for started.Load() < int64(*n) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	spawnDur := time.Since(start)

	after := settle()
	var msAfter runtime.MemStats
	runtime.ReadMemStats(&msAfter)

	delta := int64(after) - int64(before)
	fmt.Printf("goroutines parked: %d (GOMAXPROCS=%d, %s)\n", *n, runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Printf("rss before: %d bytes, rss after: %d bytes, spawn+park time: %v\n", before, after, spawnDur.Round(time.Millisecond))
	fmt.Printf("go stack in use per goroutine: %d bytes\n",
		(msAfter.StackInuse-msBefore.StackInuse)/uint64(*n))
	fmt.Printf("bytes per parked goroutine: %d\n", delta/int64(*n))

	runtime.KeepAlive(block)
}
