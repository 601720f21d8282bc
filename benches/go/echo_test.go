package gpmbench

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Go counterpart of gpm's TCP echo benchmark (benches/tcp_echo.rs).

const (
	echoConnections = 64   // concurrent connections, one client and one server goroutine each
	echoMessageLen  = 64   // bytes per message
	echoServerBuf   = 4096 // the server goroutines' read buffer
	// Round trips per connection when TCP_ECHO_ROUND_TRIPS is unset: the
	// default of benches/tcp_echo.rs (the figure is 10 000).
	echoDefaultRoundTrips = 2_000
)

// echoRoundTrips is R, from TCP_ECHO_ROUND_TRIPS as in benches/tcp_echo.rs.
func echoRoundTrips(b *testing.B) int {
	v, ok := os.LookupEnv("TCP_ECHO_ROUND_TRIPS")
	if !ok {
		return echoDefaultRoundTrips
	}
	r, err := strconv.Atoi(v)
	if err != nil || r <= 0 {
		b.Fatalf("TCP_ECHO_ROUND_TRIPS=%q is not a positive integer", v)
	}
	return r
}

// echoServer writes back everything it reads until the client closes
// (io.Copy(conn, conn) with a 4 KiB buffer, as the Rust servers).
func echoServer(conn net.Conn, wg *sync.WaitGroup) {
	defer wg.Done()
	defer conn.Close()
	buf := make([]byte, echoServerBuf)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return // io.EOF when the client is done
		}
		if _, err := conn.Write(buf[:n]); err != nil {
			return
		}
	}
}

// echoClient makes r round trips on conn, each a 64-byte message written
// and its echo read back and checked, appending every round trip's
// latency to *lat; it closes conn at the end.
func echoClient(conn net.Conn, r int, lat *[]time.Duration) error {
	defer conn.Close()
	msg := bytes.Repeat([]byte{0xa5}, echoMessageLen)
	reply := make([]byte, echoMessageLen)
	for i := 0; i < r; i++ {
		binary.LittleEndian.PutUint64(msg, uint64(i))
		start := time.Now()
		if _, err := conn.Write(msg); err != nil {
			return err
		}
		if _, err := io.ReadFull(conn, reply); err != nil {
			return err
		}
		*lat = append(*lat, time.Since(start))
		if !bytes.Equal(reply, msg) {
			return io.ErrUnexpectedEOF
		}
	}
	return nil
}

// TCPEcho: 64 client goroutines, each with its own loopback connection to
// a server goroutine (one per accepted connection), make R round trips of
// a 64-byte message each; one op = 64 * R round trips (gpm's and tokio's
// `tcp_echo` in benches/tcp_echo.rs). As there, the connections are made
// before the timer starts and the servers are joined after it stops.
// Reports rps (round trips per second over all connections) and the
// p50/p99 round-trip latency in µs over every op. Go sets TCP_NODELAY on
// every TCP connection by default, as the Rust versions do by hand.
// Recording a latency costs two time.Now calls per round trip (the Rust
// versions record only in their separate table run).
func BenchmarkTCPEcho(b *testing.B) {
	r := echoRoundTrips(b)
	var timed time.Duration
	var all []time.Duration
	b.ReportAllocs()
	b.StopTimer()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		var servers sync.WaitGroup
		servers.Add(echoConnections)
		go func() {
			for c := 0; c < echoConnections; c++ {
				conn, err := ln.Accept()
				if err != nil {
					panic(err)
				}
				go echoServer(conn, &servers)
			}
		}()
		conns := make([]net.Conn, echoConnections)
		for c := range conns {
			if conns[c], err = net.Dial("tcp", ln.Addr().String()); err != nil {
				b.Fatal(err)
			}
		}
		lats := make([][]time.Duration, echoConnections)
		errs := make([]error, echoConnections)
		var clients sync.WaitGroup
		clients.Add(echoConnections)

		b.StartTimer()
		start := time.Now()
		for c := range conns {
			lats[c] = make([]time.Duration, 0, r)
			go func() {
				defer clients.Done()
				errs[c] = echoClient(conns[c], r, &lats[c])
			}()
		}
		clients.Wait()
		timed += time.Since(start)
		b.StopTimer()

		servers.Wait()
		ln.Close()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		for _, l := range lats {
			all = append(all, l...)
		}
	}
	slices.Sort(all)
	pct := func(p int) float64 {
		return float64(all[min(len(all)*p/100, len(all)-1)].Nanoseconds()) / 1e3
	}
	b.ReportMetric(float64(len(all))/timed.Seconds(), "rps")
	b.ReportMetric(pct(50), "p50-µs")
	b.ReportMetric(pct(99), "p99-µs")
	b.ReportMetric(float64(timed.Nanoseconds())/float64(len(all)), "ns/roundtrip")
}
