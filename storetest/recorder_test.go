package storetest_test

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/hourglass-go/hourglass/storetest"
)

// recorder is a rapid.TB that records a failure instead of failing the test
// that runs it, so a test can assert that a property fails.
type recorder struct {
	*testing.T
	failed bool
	msg    string
}

func (r *recorder) Errorf(format string, args ...any) { r.fail(fmt.Sprintf(format, args...)) }
func (r *recorder) Fatalf(format string, args ...any) { r.fail(fmt.Sprintf(format, args...)) }
func (r *recorder) Error(args ...any)                 { r.fail(fmt.Sprint(args...)) }
func (r *recorder) Fatal(args ...any)                 { r.fail(fmt.Sprint(args...)) }
func (r *recorder) Fail()                             { r.failed = true }
func (r *recorder) FailNow()                          { r.failed = true }
func (r *recorder) Failed() bool                      { return r.failed }
func (r *recorder) fail(msg string)                   { r.failed, r.msg = true, msg }

// propertyFails reports whether rapid finds a counterexample to the
// contract property for the backend f makes, and rapid's report.
func propertyFails(t *testing.T, f storetest.Factory) (bool, string) {
	r := &recorder{T: t}
	rapid.Check(r, storetest.Property(f))
	return r.failed, r.msg
}
