// Package alertq is the edge daemon's on-disk alert queue: when the broker cannot take
// an alert, it is appended to one file and fsync'd before Append returns, so an alert
// survives a broker outage and a daemon restart, and it is delivered in order after the
// broker comes back.
//
// Alerts are rare (state changes only), so the design favours simplicity over
// throughput: one append-only file of framed records, an in-memory copy of what is
// pending, and a truncate once everything has been delivered. Delivery is at least
// once: a crash between a publish and the truncate re-sends those alerts, which carry
// stable ids so receivers can drop duplicates.
//
// Record framing, little endian:
//
//	uint32 length | uint32 CRC-32C of body | body
//	body = uint16 topic length | topic | uint8 flags (bit 0: retained) | payload
//
// On Open, a torn tail (an incomplete last record or zeros: a crash mid-append, never
// acknowledged) is truncated away and reported in Dropped. A complete record that fails
// its length or CRC check is corruption of acknowledged data: the file is copied aside
// (Backup), the damaged bytes are skipped up to the next valid record, every record
// after them is kept, and the damage is reported in Corrupt.
package alertq
