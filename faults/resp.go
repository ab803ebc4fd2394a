package faults

// respHousekeeping are the commands a Redis client sends on its own to set
// up and look after a connection or a cluster's topology. They run nothing
// an operation asked for, so they are never faulted and never counted: a
// fault armed for an operation's first request must not be spent on the
// HELLO of a fresh connection or the CLUSTER SLOTS of a topology refresh.
// The command's name alone decides (SCRIPT FLUSH is housekeeping too).
// ASKING, which a cluster client sends in the same write as the command it
// redirects, is among them so that the pair counts as one request.
var respHousekeeping = map[string]bool{
	"hello": true, "auth": true, "client": true, "readonly": true, "readwrite": true,
	"select": true, "cluster": true, "command": true, "info": true, "ping": true,
	"script": true, "asking": true,
}

// maxRESPName is longer than any housekeeping command's name: a name past it
// is not one, and is not kept.
const maxRESPName = 16

// Lengths past these are garbage, not a request. Redis's own limits (2^31-1
// elements, proto-max-bulk-len bytes) are within them; they guard the
// arithmetic.
const (
	maxRESPElems = 1<<31 - 1
	maxRESPBulk  = 1 << 40
)

type respState uint8

const (
	rsIdle       respState = iota // at the start of a command
	rsArrayLen                    // in the digits of "*<n>"
	rsArrayLF                     // after "*<n>\r"
	rsBulkType                    // at the start of an element: '$'
	rsBulkLen                     // in the digits of "$<len>"
	rsBulkLenLF                   // after "$<len>\r"
	rsBulkData                    // in an element's bytes
	rsBulkCR                      // after them: '\r'
	rsBulkLF                      // then '\n'
	rsInlineName                  // in the first word of an inline command
	rsInlineRest                  // in the rest of its line
)

// respParser follows the commands a RESP client writes on one connection,
// across writes: a command may be split over several, and several
// (a pipeline) may share one. It counts a command in the write where its
// name is complete, which for any client that writes whole commands, or
// splits only a long one, is the write that begins it.
type respParser struct {
	st      respState
	num     int64 // the length being read
	digits  bool  // num has at least one digit
	elems   int64 // elements of the array still to come, the one in progress included
	first   bool  // the element in progress is the command's name
	left    int64 // bytes of the element in progress still to come
	name    [maxRESPName]byte
	nlen    int  // bytes of the name so far; past maxRESPName, not kept
	counted bool // the command in progress has been counted as a request
}

func (p *respParser) requests(b []byte) int {
	n := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch p.st {
		case rsIdle:
			p.counted, p.nlen = false, 0
			switch c {
			case '*':
				p.st, p.num, p.digits = rsArrayLen, 0, false
			case '\r', '\n':
				// An empty inline line: Redis skips it.
			default:
				p.st = rsInlineName
				i-- // the byte is the name's first
			}
		case rsArrayLen, rsBulkLen:
			switch {
			case c >= '0' && c <= '9':
				p.num = p.num*10 + int64(c-'0')
				p.digits = true
				if p.num > maxRESPBulk {
					return n + p.fail()
				}
			case c == '\r' && p.digits:
				p.st++ // to the matching LF state
			default:
				return n + p.fail()
			}
		case rsArrayLF:
			if c != '\n' || p.num > maxRESPElems {
				return n + p.fail()
			}
			p.elems, p.first = p.num, true
			p.st = rsBulkType
			if p.elems == 0 {
				// "*0\r\n": Redis reads it and runs nothing.
				p.st = rsIdle
			}
		case rsBulkType:
			if c != '$' {
				return n + p.fail()
			}
			p.st, p.num, p.digits = rsBulkLen, 0, false
		case rsBulkLenLF:
			if c != '\n' {
				return n + p.fail()
			}
			p.st, p.left = rsBulkData, p.num
			if p.left == 0 {
				n += p.element()
			}
		case rsBulkData:
			take := min(int64(len(b)-i), p.left)
			if p.first {
				for _, x := range b[i : i+int(take)] {
					p.nameByte(x)
				}
			}
			p.left -= take
			i += int(take) - 1
			if p.left == 0 {
				n += p.element()
			}
		case rsBulkCR:
			if c != '\r' {
				return n + p.fail()
			}
			p.st = rsBulkLF
		case rsBulkLF:
			if c != '\n' {
				return n + p.fail()
			}
			if p.elems--; p.elems == 0 {
				p.st = rsIdle
			} else {
				p.st = rsBulkType
			}
		case rsInlineName:
			switch c {
			case ' ', '\t', '\r', '\n':
				if p.nlen > 0 {
					n += p.decide()
				}
				if c == '\n' {
					p.st = rsIdle
				} else if p.nlen > 0 {
					p.st = rsInlineRest
				}
			default:
				p.nameByte(c)
			}
		case rsInlineRest:
			if c == '\n' {
				p.st = rsIdle
			}
		}
	}
	return n
}

// element ends an element's bytes: the first is the command's name.
func (p *respParser) element() int {
	p.st = rsBulkCR
	if !p.first {
		return 0
	}
	p.first = false
	return p.decide()
}

// decide classifies the command by its name, now complete, and returns 1
// if it is a request.
func (p *respParser) decide() int {
	if p.nlen <= maxRESPName && respHousekeeping[string(p.name[:p.nlen])] {
		return 0
	}
	p.counted = true
	return 1
}

func (p *respParser) nameByte(c byte) {
	if p.nlen < maxRESPName {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		p.name[p.nlen] = c
	}
	if p.nlen <= maxRESPName {
		p.nlen++
	}
}

// fail gives up on bytes that are not RESP: the rest of the write is
// skipped and the next write is taken to begin a command. What could not be
// parsed counts as one request, unless the command it broke was counted
// already, so that a fault is never lost.
func (p *respParser) fail() int {
	p.st = rsIdle
	if p.counted {
		return 0
	}
	return 1
}
