// Command hello is the only program of the single-node test's images, built
// static so that a one-layer image needs nothing else: `hello pause` holds a
// pod sandbox open (the role of registry.k8s.io/pause, which the sandbox
// cannot download), plain `hello` is the Deployment's container, an HTTP
// server on :8080 whose /healthz is its readiness probe and whose / answers
// with $HELLO_MESSAGE.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "pause" {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		return
	}
	msg := os.Getenv("HELLO_MESSAGE")
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, msg) })
	log.Fatal(http.ListenAndServe(":8080", nil))
}
