package faults

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// cmd encodes a command as a client sends it: an array of bulk strings.
func cmd(args ...string) string {
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	return b.String()
}

func TestRESPRequests(t *testing.T) {
	big := cmd("EVALSHA", "0123456789abcdef0123456789abcdef01234567", "1", "k", strings.Repeat("x", 100))
	tests := []struct {
		name   string
		writes []string
		want   []int // requests per write
	}{
		{"one command", []string{cmd("GET", "k")}, []int{1}},
		{"lower case", []string{cmd("hset", "k", "f", "v")}, []int{1}},
		{"handshake", []string{cmd("HELLO", "3", "AUTH", "u", "p"), cmd("CLIENT", "SETINFO", "LIB-NAME", "go-redis") + cmd("client", "setinfo", "LIB-VER", "9"), cmd("SELECT", "0")}, []int{0, 0, 0}},
		{"every housekeeping command", []string{cmd("HELLO") + cmd("AUTH", "p") + cmd("CLIENT", "SETNAME", "x") + cmd("READONLY") + cmd("READWRITE") + cmd("SELECT", "1") + cmd("CLUSTER", "SLOTS") + cmd("CLUSTER", "SHARDS") + cmd("COMMAND", "DOCS") + cmd("INFO") + cmd("PING") + cmd("SCRIPT", "LOAD", "return 1") + cmd("SCRIPT", "EXISTS", "abc") + cmd("ASKING")}, []int{0}},
		{"pipeline", []string{cmd("EVALSHA", "abc", "1", "k") + cmd("WAIT", "1", "1000")}, []int{2}},
		{"pipeline with housekeeping", []string{cmd("PING") + cmd("GET", "a") + cmd("SCRIPT", "LOAD", "x") + cmd("EVAL", "return 1", "0")}, []int{2}},
		{"asking and its command", []string{cmd("ASKING") + cmd("FCALL", "f", "1", "k")}, []int{1}},
		{"split command", []string{big[:30], big[30:90], big[90:]}, []int{1, 0, 0}},
		{"split in the name", []string{"*2\r\n$3\r\nGE", "T\r\n$1\r\nk\r\n"}, []int{0, 1}},
		{"split in a length", []string{"*2\r", "\n$", "3", "\r\nGET\r", "\n$1\r\nk\r\n"}, []int{0, 0, 0, 1, 0}},
		{"split housekeeping", []string{"*1\r\n$4\r\nPI", "NG\r\n", cmd("INFO")[:5], cmd("INFO")[5:]}, []int{0, 0, 0, 0}},
		{"split then pipeline", []string{big[:50], big[50:] + cmd("GET", "a") + cmd("PING")}, []int{1, 1}},
		{"empty bulk name", []string{"*1\r\n$0\r\n\r\n"}, []int{1}},
		{"empty array", []string{"*0\r\n"}, []int{0}},
		{"long name", []string{cmd("CLIENTCLIENTCLIENTCLIENT")}, []int{1}},
		{"prefix of housekeeping", []string{cmd("PIN") + cmd("PINGS")}, []int{2}},
		{"binary args", []string{cmd("SET", "k\r\n*1\r\n$4\r\nPING\r\n", "\x00\xff")}, []int{1}},
		{"inline", []string{"GET k\r\n"}, []int{1}},
		{"inline housekeeping", []string{"PING\r\n", "  info  server\n", "\r\n"}, []int{0, 0, 0}},
		{"inline split", []string{"GE", "T k\r", "\n"}, []int{0, 1, 0}},
		{"garbage", []string{"*x\r\n"}, []int{1}},
		{"garbage after a counted command", []string{cmd("GET", "k") + "*1\r\n#"}, []int{2}},
		{"garbage inside a counted command", []string{"*2\r\n$3\r\nGET\r\n#"}, []int{1}},
		{"garbage inside housekeeping", []string{"*2\r\n$4\r\nPING\r\n:1\r\n"}, []int{1}},
		{"bad terminator", []string{"*1\r\n$3\r\nGETxx"}, []int{1}},
		{"huge length", []string{"*1\r\n$99999999999999999999\r\n"}, []int{1}},
		{"too many elements", []string{"*99999999999\r\n"}, []int{1}},
		{"negative length", []string{"*-1\r\n"}, []int{1}},
		{"recovers after garbage", []string{"*1\r\n$x", cmd("PING"), cmd("GET", "k")}, []int{1, 0, 1}},
		{"empty write", []string{""}, []int{0}},
	}
	for _, tt := range tests {
		p := newParser(RESP)
		for i, w := range tt.writes {
			if got := p.requests([]byte(w)); got != tt.want[i] {
				t.Errorf("%s: write %d (%q): %d requests, want %d", tt.name, i, w, got, tt.want[i])
			}
		}
	}
}

// TestRESPByteAtATime feeds a stream one byte per write: the total is the
// stream's, and each command counts once.
func TestRESPByteAtATime(t *testing.T) {
	stream := cmd("HELLO", "3") + cmd("EVALSHA", "abc", "1", "k", "v") + cmd("CLUSTER", "SHARDS") + cmd("get", "k") + "PING\r\nDEL k\r\n"
	p := newParser(RESP)
	total := 0
	for i := range len(stream) {
		total += p.requests([]byte{stream[i]})
	}
	if total != 3 {
		t.Errorf("%d requests, want 3", total)
	}
}

var housekeepingNames = []string{"HELLO", "auth", "Client", "READONLY", "readwrite", "SELECT", "cluster", "COMMAND", "info", "PING", "script", "ASKING"}
var requestNames = []string{"EVALSHA", "eval", "EVALSHA_RO", "FCALL", "GET", "hset", "WAIT", "DEL", "MULTI", "EXEC"}

// FuzzRESP checks that the parser never panics on any bytes cut anywhere,
// and that a well-formed stream, cut anywhere, counts exactly its commands
// that are not housekeeping: none, for a housekeeping-only one.
func FuzzRESP(f *testing.F) {
	f.Add([]byte(cmd("GET", "k")), []byte{3, 9}, false)
	f.Add([]byte("\x01\x02\x83hello world\x00"), []byte{1}, true)
	f.Add([]byte(cmd("SET", "k", "v")+"*1\r\n$x"), []byte{}, true)
	f.Fuzz(func(t *testing.T, data, cuts []byte, housekeepingOnly bool) {
		// Any bytes: no panic, no negative count.
		p := newParser(RESP)
		for _, w := range split(data, cuts) {
			if n := p.requests(w); n < 0 {
				t.Fatalf("negative count %d", n)
			}
		}

		// A stream built from data: each byte picks a command and how many
		// arguments, taken from the bytes that follow.
		var stream bytes.Buffer
		want := 0
		for i := 0; i < len(data); {
			c := data[i]
			i++
			var name string
			if housekeepingOnly || c&1 == 0 {
				name = housekeepingNames[int(c>>1)%len(housekeepingNames)]
			} else {
				name = requestNames[int(c>>1)%len(requestNames)]
				want++
			}
			args := []string{name}
			for range int(c>>5) % 3 {
				n := min(len(data)-i, int(c>>3)%5)
				args = append(args, string(data[i:i+n]))
				i += n
			}
			if c&0x10 != 0 && inlineable(args) {
				stream.WriteString(strings.Join(args, " ") + "\r\n")
			} else {
				stream.WriteString(cmd(args...))
			}
		}
		p = newParser(RESP)
		got := 0
		for _, w := range split(stream.Bytes(), cuts) {
			got += p.requests(w)
		}
		if got != want {
			t.Fatalf("stream %q: %d requests, want %d", stream.Bytes(), got, want)
		}
	})
}

// split cuts b into writes at offsets taken from cuts.
func split(b, cuts []byte) [][]byte {
	var out [][]byte
	for _, c := range cuts {
		if len(b) == 0 {
			break
		}
		n := int(c) % (len(b) + 1)
		out, b = append(out, b[:n]), b[n:]
	}
	return append(out, b)
}

// inlineable reports whether args can be written as an inline command
// that Redis splits back into the same words.
func inlineable(args []string) bool {
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\r\n\"'") {
			return false
		}
	}
	return args[0][0] != '*'
}
