// Package spool is ingest's on-disk durable queue: a write-ahead log of opaque records
// in numbered segment files.
//
// Writers Append records (buffered in the OS) and call Sync to make everything appended
// so far durable with one fsync (group commit). Readers take records in append order
// with Next, ship them, and Release them; a segment file is deleted once it is sealed
// (the writer moved on to a newer one), fully read and every batch read from it was
// released. After a crash, Open replays every segment still on disk from its start, so a
// record is delivered at least once; consumers must tolerate duplicates (InfluxDB does:
// a point's identity is series + timestamp).
//
// Record framing, little endian:
//
//	uint32 length of payload | uint32 CRC-32C of payload | payload
//
// A torn write (crash mid-record) leaves a short or mismatching tail; Open detects it by
// length and CRC, truncates the segment there and reports the bytes dropped. Those bytes
// were never synced, so nobody was told they were safe.
//
// The spool is bounded by MaxBytes of segment files on disk: Append returns ErrFull
// rather than growing, and callers apply backpressure until Release frees space.
package spool
