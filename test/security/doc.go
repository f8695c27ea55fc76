// Package security runs the real services against hardened servers: Mosquitto with the
// TLS listener, password file and ACL from deploy/mosquitto, and InfluxDB with
// authentication. The raw broker refusals (anonymous, wrong password, forbidden topics)
// are tested in deploy/*_integration_test.go; here ingest, infer and train run with
// credentials read from files, intruders are refused while they run, and no secret
// shows up in any process's output.
package security
