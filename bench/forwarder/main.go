// Command forwarder is a bare TCP forwarder, the floor any MySQL proxy
// written in Go stands on: scripts/bench.sh measures it beside shardgate so
// that the proxy's cost can be read against the cost of the extra hop alone.
//
//	forwarder LISTEN_ADDR BACKEND_ADDR
package main

import (
	"io"
	"log"
	"net"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: forwarder LISTEN_ADDR BACKEND_ADDR")
	}
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go func(c net.Conn) {
			defer c.Close()
			b, err := net.Dial("tcp", os.Args[2])
			if err != nil {
				return
			}
			defer b.Close()
			go io.Copy(b, c)
			io.Copy(c, b)
		}(c)
	}
}
