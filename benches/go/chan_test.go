package gpmbench

import "testing"

// Go counterparts of gpm's channel benchmarks (benches/chan.rs): one
// benchmark per workload there, same counts and channel capacities.

// ChanPingPong100k: two goroutines bounce a value over two unbuffered
// channels, 100 000 round trips per op. One side is a spawned goroutine,
// the other is the benchmark goroutine itself (gpm's and tokio's
// `chan_ping_pong_main` in benches/chan.rs).
func BenchmarkChanPingPong100k(b *testing.B) {
	const roundTrips = 100_000
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ping := make(chan int)
		pong := make(chan int)
		go func() {
			for v := range ping {
				pong <- v + 1
			}
			close(pong)
		}()
		v := 0
		for r := 0; r < roundTrips; r++ {
			ping <- v
			v = <-pong
		}
		close(ping)
		<-pong // wait for the partner to exit
		if v != roundTrips {
			b.Fatalf("got %d, want %d", v, roundTrips)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*roundTrips), "ns/roundtrip")
}

// ChanPingPongSpawned100k: as ChanPingPong100k, but both sides are spawned
// goroutines and the benchmark goroutine only waits for the end (gpm's and
// tokio's `chan_ping_pong` in benches/chan.rs; ChanPingPong100k above is
// their `chan_ping_pong_main`).
func BenchmarkChanPingPongSpawned100k(b *testing.B) {
	const roundTrips = 100_000
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ping := make(chan int)
		pong := make(chan int)
		done := make(chan int)
		go func() {
			for v := range ping {
				pong <- v + 1
			}
			close(pong)
		}()
		go func() {
			v := 0
			for r := 0; r < roundTrips; r++ {
				ping <- v
				v = <-pong
			}
			close(ping)
			<-pong // wait for the partner to exit
			done <- v
		}()
		if v := <-done; v != roundTrips {
			b.Fatalf("got %d, want %d", v, roundTrips)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*roundTrips), "ns/roundtrip")
}

// ChanSyncMpsc: tokio's benches/sync_mpsc.rs `contention/bounded` (gpm's
// and tokio's `sync_mpsc`): 5 goroutines send 1 000 values each into one
// channel of capacity 1 000 000; the benchmark goroutine receives all
// 5 000. The producers are not joined (as in tokio's bench).
func BenchmarkChanSyncMpsc(b *testing.B) {
	const (
		capacity  = 1_000_000
		producers = 5
		sends     = 1_000
	)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ch := make(chan int, capacity)
		for p := 0; p < producers; p++ {
			go func() {
				for j := 0; j < sends; j++ {
					ch <- j
				}
			}()
		}
		for j := 0; j < producers*sends; j++ {
			<-ch
		}
	}
}

// ChanSelect4Way (gpm's and tokio's `select_4way`): a goroutine runs
// 100 000 selects over 4 unbuffered channels, each fed by its own
// goroutine sending 25 000 values; the benchmark goroutine waits for the
// receiver's sum.
func BenchmarkChanSelect4Way(b *testing.B) {
	const (
		selects     = 100_000
		perProducer = selects / 4
		wantSum     = 4 * (perProducer * (perProducer - 1) / 2)
	)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var chans [4]chan int
		for k := range chans {
			ch := make(chan int)
			chans[k] = ch
			go func() {
				for j := 0; j < perProducer; j++ {
					ch <- j
				}
			}()
		}
		done := make(chan int)
		go func() {
			c0, c1, c2, c3 := chans[0], chans[1], chans[2], chans[3]
			sum := 0
			for s := 0; s < selects; s++ {
				select {
				case v := <-c0:
					sum += v
				case v := <-c1:
					sum += v
				case v := <-c2:
					sum += v
				case v := <-c3:
					sum += v
				}
			}
			done <- sum
		}()
		if sum := <-done; sum != wantSum {
			b.Fatalf("got %d, want %d", sum, wantSum)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*selects), "ns/select")
}
