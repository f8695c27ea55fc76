// A Sparkplug B edge node built on the Eclipse Tahu JavaScript client (npm
// sparkplug-client, sparkplug-payload), driven by test/sparkplug/tahu_test.go.
//
// It publishes NBIRTH and a DBIRTH per device, then DDATA by alias only (and NDATA),
// skips one seq number on purpose halfway (the forced gap), waits for the rebirth
// request Faultline must send and answers it with new BIRTH certificates, finishes the
// data, publishes a DDEATH for the last device and stops with an NDEATH. Every value
// it sent is written to $SENT as JSON, so the test can compare them with InfluxDB.
//
// Protocol on stdout (one line each): READY, REBIRTH <n>, DONE.
"use strict";
const path = require("path");
const fs = require("fs");
const sparkplug = require(path.join(process.env.TAHU_DIR, "node_modules", "sparkplug-client"));

const env = (k) => {
  const v = process.env[k];
  if (v === undefined || v === "") throw new Error("missing env " + k);
  return v;
};
const group = env("GROUP"), node = env("NODE"), devices = env("DEVICES").split(",");
const n = Number(env("N")), gapAt = Number(env("GAP_AT")), t0 = Number(env("T0"));

// Sensors of every device: name in the BIRTH, Sparkplug type, alias, value at step i.
// Types cover the encodings that differ: Float (fixed32), Double (fixed64), Int32 and
// Int8 (int_value, negatives sign-extended), UInt32 (long_value), Boolean.
const sensors = [
  { name: "Temp/Bearing", type: "Float", alias: 10, v: (d, i) => 20 + d + ((i * 7) % 40) * 0.25 },
  { name: "vib_rms", type: "Double", alias: 11, v: (d, i) => Math.sin(i * 0.3 + d) },
  { name: "rpm", type: "Int32", alias: 12, v: (d, i) => 1400 + ((i * 13 + d) % 50) },
  { name: "load", type: "Int8", alias: 13, v: (d, i) => ((i * 5 + d) % 200) - 100 },
  { name: "count", type: "UInt32", alias: 14, v: (d, i) => 4000000000 + i },
  { name: "running", type: "Boolean", alias: 15, v: (d, i) => i % 3 !== 0 },
];
const speed = (i) => 1.5 + i * 0.125; // the node's own metric, alias 1

const sent = []; // {device, name, ts, value}; device "" is the node itself
const record = (device, name, ts, value) =>
  sent.push({ device, name, ts, value: typeof value === "boolean" ? (value ? 1 : 0) : value });

const client = sparkplug.newClient({
  serverUrl: env("MQTT_URL"), username: "tahu", password: "tahu", clientId: "tahu-" + node,
  groupId: group, edgeNode: node, version: "spBv1.0", publishDeath: true,
});

let step = -1; // index of the last DATA sent; births carry the values of this step
let rebirths = 0;
let onRebirth = null;

function births(ts) {
  const i = Math.max(step, 0);
  client.publishNodeBirth({
    timestamp: ts,
    metrics: [
      { name: "Node Control/Rebirth", type: "Boolean", value: false },
      { name: "Line/Speed", type: "Double", alias: 1, value: speed(i), timestamp: ts },
    ],
  });
  record("", "Line/Speed", ts, speed(i));
  devices.forEach((dev, d) => {
    const metrics = sensors.map((s) => ({ name: s.name, type: s.type, alias: s.alias, value: s.v(d, i), timestamp: ts }));
    metrics.push({ name: "serial", type: "String", alias: 20, value: "SN-" + dev, timestamp: ts }); // not a number: skipped
    client.publishDeviceBirth(dev, { timestamp: ts, metrics });
    sensors.forEach((s) => record(dev, s.name, ts, s.v(d, i)));
  });
}

client.on("birth", () => {
  births(t0 - 5000);
  console.log("READY");
  run().catch((e) => { console.error(e); process.exit(2); });
});

client.on("ncmd", (payload) => {
  const m = (payload.metrics || []).find((x) => x.name === "Node Control/Rebirth");
  if (!m || m.value !== true) return;
  rebirths++;
  // Half a step after the last DATA: a timestamp of its own for the birth values.
  births(t0 + Math.max(step, 0) * 1000 + 500);
  console.log("REBIRTH " + rebirths);
  if (onRebirth) onRebirth();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function run() {
  for (let i = 0; i < n; i++) {
    const ts = t0 + i * 1000;
    devices.forEach((dev, d) => {
      if (i === gapAt && d === 0) {
        client.incrementSeqNum(); // the forced gap: one seq number never sent
      }
      const metrics = sensors.map((s) => ({ alias: s.alias, type: s.type, value: s.v(d, i), timestamp: ts }));
      client.publishDeviceData(dev, { timestamp: ts, metrics });
      sensors.forEach((s) => record(dev, s.name, ts, s.v(d, i)));
    });
    if (i % 10 === 5) {
      client.publishNodeData({ timestamp: ts, metrics: [{ alias: 1, type: "Double", value: speed(i), timestamp: ts }] });
      record("", "Line/Speed", ts, speed(i));
    }
    step = i;
    if (i === gapAt) {
      // Faultline must ask for a rebirth; nothing more is sent until it has.
      await new Promise((resolve, reject) => {
        onRebirth = resolve;
        setTimeout(() => reject(new Error("no rebirth request within 30 s of the seq gap")), 30000);
      });
      onRebirth = null;
    }
    await sleep(5);
  }
  const last = devices[devices.length - 1];
  client.publishDeviceDeath(last, { timestamp: t0 + n * 1000 });
  await sleep(200);
  client.stop(); // publishDeath: the NDEATH with this session's bdSeq
  await sleep(300);
  fs.writeFileSync(env("SENT"), JSON.stringify({ rebirths, sent }));
  console.log("DONE");
  process.exit(0);
}
