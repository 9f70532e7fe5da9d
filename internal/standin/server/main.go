// Command server is the stand-in for the web-platform-tests server that
// offline builds bake: a static HTTP server on the ports the real one
// uses, answering the load balancer's and autohealer's health paths.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
)

var ports = []string{"8000", "8443", "8001", "8002", "8003"}

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// The health checks ask for / with a marker query.
		if strings.HasPrefix(r.URL.RawQuery, "gcp-health-check") {
			fmt.Fprintln(w, "ok")
			return
		}
		fmt.Fprintf(w, "wpt stand-in on %s (uid %d)\n", r.Host, os.Getuid())
	})
	errs := make(chan error, len(ports))
	for _, p := range ports {
		go func() { errs <- http.ListenAndServe(":"+p, mux) }()
	}
	log.Printf("serving on %v", ports)
	log.Fatal(<-errs)
}
