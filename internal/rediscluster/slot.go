package rediscluster

import "strings"

// NumSlots is the number of hash slots of a Redis Cluster.
const NumSlots = 16384

// Slot returns the hash slot of key, as Redis computes it: CRC16 (XMODEM)
// of the key, or of its hash tag, the part between the first "{" and the
// next "}" when that part is not empty, modulo 16384.
func Slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key)) % NumSlots
}

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial value 0), bit by bit:
// keys are short and this is for tests.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// slotRange is an inclusive range of hash slots.
type slotRange struct{ lo, hi int }

// spread divides the slots among n primaries in contiguous ranges of
// nearly equal size, as redis-cli --cluster create does.
func spread(n int) []slotRange {
	out := make([]slotRange, n)
	for j := range n {
		out[j] = slotRange{j * NumSlots / n, (j+1)*NumSlots/n - 1}
	}
	return out
}
