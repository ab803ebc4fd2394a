package hashid_test

import (
	"os"
	"testing"

	"github.com/hourglass-go/hourglass/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
