package netconn_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/netip"
	"syscall"

	"github.com/synack/synack/link"
	"github.com/synack/synack/netconn"
	"github.com/synack/synack/stack"
)

// Two stacks on an in-memory link: a server that echoes, a client that
// sends, half-closes, and reads the echo until EOF.
func Example() {
	ea, eb := link.Pipe(1500)
	client, server := netconn.New(stack.Config{}), netconn.New(stack.Config{})
	defer client.Close()
	defer server.Close()
	if err := client.AddLink(ea, netip.MustParsePrefix("192.0.2.1/24")); err != nil {
		log.Fatal(err)
	}
	if err := server.AddLink(eb, netip.MustParsePrefix("192.0.2.2/24")); err != nil {
		log.Fatal(err)
	}

	ln, err := server.Listen("tcp", "192.0.2.2:7")
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // net.ErrClosed when the server stack closes
			}
			go func() {
				io.Copy(c, c) // until the client's FIN
				c.Close()
			}()
		}
	}()

	c, err := client.Dial("tcp", "192.0.2.2:7")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprint(c, "hello, synack")
	c.(*netconn.Conn).CloseWrite() // FIN: the server's io.Copy returns
	reply, err := io.ReadAll(c)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s, from %v\n", reply, c.RemoteAddr())
	c.Close()
	// Output: hello, synack, from 192.0.2.2:7
}

// Errors wrap the kernel's errno values, so errors.Is works as with
// package net.
func ExampleStack_Dial_refused() {
	ea, eb := link.Pipe(1500)
	client, server := netconn.New(stack.Config{}), netconn.New(stack.Config{})
	defer client.Close()
	defer server.Close()
	client.AddLink(ea, netip.MustParsePrefix("192.0.2.1/24"))
	server.AddLink(eb, netip.MustParsePrefix("192.0.2.2/24"))

	_, err := client.Dial("tcp", "192.0.2.2:9") // nothing listens there
	fmt.Println(errors.Is(err, syscall.ECONNREFUSED))
	fmt.Println(err)
	// Output:
	// true
	// dial tcp 192.0.2.2:9: connection refused
}
