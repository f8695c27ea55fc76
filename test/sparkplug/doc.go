// Package sparkplug tests Faultline's Sparkplug B support against an implementation
// nobody here wrote: the Eclipse Tahu JavaScript edge-node client (npm sparkplug-client
// and sparkplug-payload, installed by scripts/ensure-tahu.sh) publishes BIRTH, DATA and
// DEATH for a few devices through a real Mosquitto; ingest must store exactly what it
// sent in a real InfluxDB, the infer daemon must score it, and a seq gap forced on the
// Tahu side must bring a rebirth request that the Tahu client answers.
package sparkplug
