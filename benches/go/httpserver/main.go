// Command httpserver is the Go side of benches/wrk/run.sh: the same
// HTTP/1.1 hello world as benches/wrk/server.rs (gpm and tokio), on
// net/http, for wrk to load from outside the process.
//
//	GOMAXPROCS=2 go run ./httpserver -port 0
//
// Once bound to 127.0.0.1 it prints "listening on PORT" (the real port
// when -port is 0) on stdout, then serves until killed. Every request
// (GET, any path) gets 200, Content-Type: text/plain and the 13 bytes
// "Hello, World!"; connections are kept alive, and TCP_NODELAY is set on
// each (net's default for TCP, set here explicitly). net/http serves each
// connection on its own goroutine. GOMAXPROCS comes from the environment.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
)

var body = []byte("Hello, World!")

func hello(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h["Content-Type"] = []string{"text/plain"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// noDelayListener sets TCP_NODELAY on every accepted connection.
type noDelayListener struct{ *net.TCPListener }

func (l noDelayListener) Accept() (net.Conn, error) {
	c, err := l.AcceptTCP()
	if err != nil {
		return nil, err
	}
	c.SetNoDelay(true)
	return c, nil
}

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 (0: a free one)")
	flag.Parse()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: *port})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stdout, "listening on %d\n", ln.Addr().(*net.TCPAddr).Port)
	server := &http.Server{Handler: http.HandlerFunc(hello)}
	log.Fatal(server.Serve(noDelayListener{ln}))
}
