// Package telemetry is Faultline's wire contract: the MQTT topic tree, the telemetry
// payload schema, the Alert and Truth messages, and the reasons a message is rejected.
//
// Every program that publishes or consumes Faultline messages goes through this package;
// nobody else joins or splits topic strings or parses payloads. That keeps the simulator,
// ingest, train and infer agreeing on one contract, and keeps all parsing of untrusted
// device input in one place that is table-tested and fuzzed.
//
// Topics are built and parsed by a Topics value for one root (default "factory"):
//
//	{root}/{site}/{line}/{machine}/telemetry          JSON samples (DecodeTelemetry)
//	{root}/{site}/{line}/{machine}/sensors/{sensor}   one sensor's bare value (DecodeSensor)
//	{root}/{site}/{line}/{machine}/alerts             Alert state changes
//	{root}/{site}/{line}/{machine}/alerts/state       current Alert, retained
//	{root}/{site}/{line}/{machine}/truth              simulator ground truth (Truth)
//	{root}/_status/{service}/{instance}               online/offline, retained, last will
//	{root}/_deadletter/{service}                      rejected messages with their reason (DeadLetter)
//
// A plant with its own topic tree describes it with a Template (--tag-template of ingest
// and `infer run`), for example "plant/site/line/machine/data": the tree's levels map to
// site, line, machine and, for one value per topic, sensor; both services read it through
// the same Template.Match.
//
// Names (site, line, machine, sensor, service, instance) are 1..MaxNameLen characters
// from [A-Za-z0-9_.-] and do not start with '_' or '$' (ValidateName): they become
// InfluxDB tags and field keys, so nothing ambiguous may get in.
//
// The decoders never panic and never return a non-finite value. A message that cannot be
// used at all gives a *RejectError whose Reason is a stable metric label; a message with
// some bad values keeps its good ones and lists the dropped ones as Rejections. Limits
// bound size, batch length, values per sample and the accepted timestamp window. A
// storing service's cardinality guard adds its own reasons (GuardReasons).
//
// Sparkplug B (Eclipse Sparkplug 3.0, topics spBv1.0/...) is decoded here too, for ingest
// and infer alike: SparkplugDecoder keeps each edge node's session (BIRTH alias tables,
// seq, bdSeq), maps topics to machines (SparkplugMapping), asks for rebirths and reports
// DEATHs; sparkplug_proto.go holds the payload schema, decoded with protowire.
//
// docs/telemetry.md describes the contract for people writing devices and consumers.
package telemetry
