package hashid_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hourglass-go/hourglass/hashid"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
)

// The application uses the layer as it would the backend; the backend, and
// so every copy of its table, holds only the hash of the session's ID.
func ExampleNew() {
	ctx := context.Background()
	backend := memstore.New(memstore.Options{})
	s, err := hashid.New(backend, hashid.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}

	id := store.ID("Jq3cYt0i8vJ0nJ8Sx0uPr6_C2m5uH2XgkQyFqU3Vw7A") // from store.NewID
	_ = s.Create(ctx, id, []byte(`{"user":42}`), time.Hour)

	rec, _ := s.Load(ctx, id)
	fmt.Println("through the layer:", string(rec.State))
	_, err = backend.Load(ctx, id)
	fmt.Println("the ID in the backend:", errors.Is(err, store.ErrNotFound))
	stored := store.StoredID(s, id)
	rec, _ = backend.Load(ctx, stored)
	fmt.Println("stored as:", stored, string(rec.State))

	_, err = hashid.New(backend, hashid.Options{Key: []byte("too short")})
	fmt.Println(err)
	// Output:
	// through the layer: {"user":42}
	// the ID in the backend: true
	// stored as: ODvxg6Wr6Da40F63GXVAnjpSGXHtbs9gnNrSMYMiILs {"user":42}
	// hashid: key too short: 9 bytes, want at least 32
}
