package faults

import "testing"

func msg(typ byte, body string) []byte {
	n := len(body) + 4
	return append([]byte{typ, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

func TestRunsStatement(t *testing.T) {
	cat := func(ms ...[]byte) (out []byte) {
		for _, m := range ms {
			out = append(out, m...)
		}
		return out
	}
	tests := []struct {
		name string
		b    []byte
		want bool
	}{
		{"simple query", msg('Q', "SELECT 1\x00"), true},
		{"prepare only", cat(msg('P', "s\x00SELECT $1\x00\x00\x00"), msg('D', "Ss\x00"), msg('S', "")), false},
		{"bind execute sync", cat(msg('B', "\x00s\x00\x00\x00\x00\x00\x00\x00"), msg('E', "\x00\x00\x00\x00\x00"), msg('S', "")), true},
		{"terminate", msg('X', ""), false},
		{"truncated", []byte{'P', 0, 0}, true},
		{"bad length", []byte{'P', 0, 0, 0, 1}, true},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		if got := runsStatement(tt.b); got != tt.want {
			t.Errorf("%s: runsStatement = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func FuzzRunsStatement(f *testing.F) {
	f.Add(msg('Q', "SELECT 1\x00"))
	f.Add([]byte{0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e})
	f.Fuzz(func(t *testing.T, b []byte) { runsStatement(b) })
}

func TestPGParser(t *testing.T) {
	query := msg('Q', "SELECT 1\x00")
	p := newParser(PostgreSQL)
	if n := p.requests(query); n != 0 {
		t.Errorf("the first write (startup) counts %d requests, want 0", n)
	}
	if n := p.requests(append(query, query...)); n != 1 {
		t.Errorf("two queries in a write count %d requests, want 1", n)
	}
	cancel := newParser(PostgreSQL)
	cancel.requests(append(append([]byte{}, cancelRequest...), 0, 0, 0, 1, 0, 0, 0, 2))
	if n := cancel.requests(query); n != 0 {
		t.Errorf("a cancel-request connection counts %d requests, want 0", n)
	}
}
