package redisstore

// slot is the Redis Cluster hash slot of a key whose hash tag is tag:
// CRC16 (XMODEM) mod 16384. The store needs it only to know whether two
// session keys can be moved by one script.
func slot(tag string) uint16 {
	var crc uint16
	for i := 0; i < len(tag); i++ {
		crc ^= uint16(tag[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc % 16384
}
