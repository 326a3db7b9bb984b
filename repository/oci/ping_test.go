package oci_test

import (
	"context"
	"net"
	"strings"
	"testing"
)

func TestPing(t *testing.T) {
	ctx := context.Background()
	if err := newRegistry(t, startRegistry(t, false), "").Ping(ctx); err != nil {
		t.Fatalf("ping of a running registry: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	err = newRegistry(t, addr, "sub").Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), "registry "+addr+"/sub") {
		t.Fatalf("ping of a closed port: %v", err)
	}
}
