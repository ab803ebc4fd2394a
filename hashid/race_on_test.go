//go:build race

package hashid

const raceEnabled = true
