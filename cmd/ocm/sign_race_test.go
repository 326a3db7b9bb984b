//go:build race

package main

// sgRace reports whether the test binary was built with the race detector.
const sgRace = true
