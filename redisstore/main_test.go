package redisstore_test

import (
	"os"
	"testing"

	"github.com/hourglass-go/hourglass/internal/redistest"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }
