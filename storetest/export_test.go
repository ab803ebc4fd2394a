package storetest

import "context"

// CaughtByConcurrentPhase runs the concurrent phase alone and reports
// whether it failed, and the failure's report.
func CaughtByConcurrentPhase(newStore Factory) (bool, string, error) {
	f, _, err := concurrentPhase(context.Background(), newStore, Options{}.withDefaults())
	if f == nil || err != nil {
		return false, "", err
	}
	return true, f.String(), nil
}
