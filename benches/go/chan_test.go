package gpmbench

import "testing"

// ChanPingPong100k: two goroutines bounce a value over two unbuffered
// channels, 100 000 round trips per op. One side is a spawned goroutine,
// the other is the benchmark goroutine itself.
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
