// Package spool is ingest's on-disk durable queue: a write-ahead log of opaque records
// in numbered segment files.
//
// Writers Append records (buffered in the OS) and call Sync to make everything appended
// so far durable with one fsync (group commit). Readers take records in append order
// with Next, ship them, and Release them; a segment file is deleted once it is sealed
// (the writer moved on to a newer one), fully read and every batch read from it was
// released. After a crash, Open replays every record after the shipped checkpoint, so a
// record is delivered at least once; consumers must tolerate duplicates (InfluxDB does:
// a point's identity is series + timestamp).
//
// Record framing, little endian:
//
//	uint32 length of payload | uint32 CRC-32C of payload | payload
//
// A torn write (crash mid-record) leaves an incomplete record (or zeros) at the end of
// the last segment; Open cuts it and reports the bytes dropped. Those bytes were never
// synced, so nobody was told they were safe. Anything else that fails its length or CRC
// check is corruption of synced data: Open copies the segment to corrupt/, skips the
// damaged bytes up to the next valid record (resynchronising), rewrites the segment with
// its valid records and reports the damage; a reader meeting damage later skips to the
// next valid record the same way (ErrCorrupt).
//
// Readers' progress is checkpointed (CheckpointFile): once every batch up to a point is
// released, the checkpoint moves there, and Open replays only what follows it.
//
// The spool is bounded by MaxBytes of segment files on disk: Append returns ErrFull
// rather than growing, and callers apply backpressure until Release frees space.
package spool
