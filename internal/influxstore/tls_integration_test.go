package influxstore_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/servers"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/internal/testenv"
)

// writePEM writes one PEM block to dir/name and returns the path.
func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// privateCA makes a CA and a server certificate for 127.0.0.1 signed by it, as a
// cluster's private CA would; it returns the CA file and the server's cert and key.
func privateCA(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "faultline test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "influxdb"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTpl, caTpl, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER), writePEM(t, dir, "server.pem", "CERTIFICATE", srvDER),
		writePEM(t, dir, "server.key", "PRIVATE KEY", keyDER)
}

// An https InfluxDB signed by a private CA: refused without --influx-ca-file (the
// system's roots do not know the CA), written to and read back with it; a CA file that
// is missing or holds no certificate is refused before any request.
func TestStoreHTTPSWithPrivateCAIntegration(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := privateCA(t, dir)
	in := testenv.Influx(t, servers.InfluxOptions{TLSCertFile: cert, TLSKeyFile: key})
	if !strings.HasPrefix(in.URL, "https://") {
		t.Fatalf("influxd URL %s, want https", in.URL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	plain, err := influxstore.New(influxstore.Config{URL: in.URL, Bucket: "factory"})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := plain.EnsureBucket(ctx); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA file: %v, want a certificate error", err)
	}

	st, err := influxstore.New(influxstore.Config{URL: in.URL, Bucket: "factory", CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.EnsureBucket(ctx); err != nil {
		t.Fatalf("ensure bucket over https: %v", err)
	}
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	var buf []byte
	for i := range 10 {
		buf = influxstore.AppendLine(buf, influxstore.Measurement,
			[]influxstore.Tag{{"line", "l1"}, {"machine", "p1"}, {"site", "s1"}},
			[]telemetry.Value{{Sensor: "flow", V: float64(i)}}, t0.Add(time.Duration(i)*time.Second))
	}
	if err := st.WriteLines(ctx, buf); err != nil {
		t.Fatalf("write over https: %v", err)
	}
	n := 0
	q := influxstore.SeriesQuery{Machine: "p1", Start: t0, Stop: t0.Add(time.Hour), Chunk: time.Hour}
	if err := st.ReadTelemetry(ctx, q, func(influxstore.Row) error { n++; return nil }); err != nil || n != 10 {
		t.Fatalf("read over https: %d rows, %v; want 10", n, err)
	}

	if _, err := influxstore.New(influxstore.Config{URL: in.URL, Bucket: "factory", CAFile: filepath.Join(dir, "none.pem")}); err == nil {
		t.Error("a missing CA file was accepted")
	}
	if _, err := influxstore.New(influxstore.Config{URL: in.URL, Bucket: "factory", CAFile: key}); err == nil {
		t.Error("a CA file holding no certificate was accepted")
	}
}
