package telemetry

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The Sparkplug B payload schema, written down from the Eclipse Sparkplug 3.0
// specification (and checked against the published sparkplug_b.proto and the protobufjs
// code generated from it in the Eclipse Tahu sparkplug-payload npm package, 1.0.3):
//
//	message Payload {
//	  optional uint64 timestamp = 1;   // ms since the epoch, when the message was sent
//	  repeated Metric metrics   = 2;
//	  optional uint64 seq       = 3;   // 0..255, per edge node
//	  optional string uuid      = 4;
//	  optional bytes  body      = 5;
//	  extensions 6 to max;
//	}
//	message Metric {
//	  optional string   name          = 1;
//	  optional uint64   alias         = 2;
//	  optional uint64   timestamp     = 3;
//	  optional uint32   datatype      = 4;
//	  optional bool     is_historical = 5;
//	  optional bool     is_transient  = 6;
//	  optional bool     is_null       = 7;
//	  optional MetaData metadata      = 8;
//	  optional PropertySet properties = 9;
//	  oneof value {
//	    uint32 int_value = 10; uint64 long_value = 11; float float_value = 12;
//	    double double_value = 13; bool boolean_value = 14; string string_value = 15;
//	    bytes bytes_value = 16; DataSet dataset_value = 17; Template template_value = 18;
//	    MetricValueExtension extension_value = 19;
//	  }
//	}
//
// Only what Faultline uses is decoded; metadata, properties, datasets, templates and
// extensions are checked for wire validity and skipped. Decoding with protowire instead
// of generated code keeps the hot path free of reflection and allocation (one DDATA of
// aliased metrics decodes into a reused slice) and needs no code generator in the build.

// Sparkplug B field numbers.
const (
	spPayloadTimestamp protowire.Number = 1
	spPayloadMetrics   protowire.Number = 2
	spPayloadSeq       protowire.Number = 3
	spPayloadUUID      protowire.Number = 4
	spPayloadBody      protowire.Number = 5

	spMetricName         protowire.Number = 1
	spMetricAlias        protowire.Number = 2
	spMetricTimestamp    protowire.Number = 3
	spMetricDatatype     protowire.Number = 4
	spMetricIsHistorical protowire.Number = 5
	spMetricIsTransient  protowire.Number = 6
	spMetricIsNull       protowire.Number = 7
	spMetricMetadata     protowire.Number = 8
	spMetricProperties   protowire.Number = 9
	spMetricInt          protowire.Number = 10
	spMetricLong         protowire.Number = 11
	spMetricFloat        protowire.Number = 12
	spMetricDouble       protowire.Number = 13
	spMetricBool         protowire.Number = 14
	spMetricString       protowire.Number = 15
	spMetricBytes        protowire.Number = 16
	spMetricDataset      protowire.Number = 17
	spMetricTemplate     protowire.Number = 18
	spMetricExtension    protowire.Number = 19
)

// SparkplugDataType is a Sparkplug B metric datatype (the DataType enum of the spec).
type SparkplugDataType uint32

// Sparkplug B datatypes. Faultline stores the numeric and boolean ones as values.
const (
	SPUnknown  SparkplugDataType = 0
	SPInt8     SparkplugDataType = 1
	SPInt16    SparkplugDataType = 2
	SPInt32    SparkplugDataType = 3
	SPInt64    SparkplugDataType = 4
	SPUInt8    SparkplugDataType = 5
	SPUInt16   SparkplugDataType = 6
	SPUInt32   SparkplugDataType = 7
	SPUInt64   SparkplugDataType = 8
	SPFloat    SparkplugDataType = 9
	SPDouble   SparkplugDataType = 10
	SPBoolean  SparkplugDataType = 11
	SPString   SparkplugDataType = 12
	SPDateTime SparkplugDataType = 13
	SPText     SparkplugDataType = 14
	SPUUID     SparkplugDataType = 15
	SPDataSet  SparkplugDataType = 16
	SPBytes    SparkplugDataType = 17
	SPFile     SparkplugDataType = 18
	SPTemplate SparkplugDataType = 19
	// 20..34: PropertySet, PropertySetList and the array types (Int8Array..DateTimeArray).
	spMaxDataType SparkplugDataType = 34
)

// SparkplugValueKind says which field of the value oneof a metric carries.
type SparkplugValueKind uint8

// Value fields of a metric.
const (
	SPValueNone SparkplugValueKind = iota
	SPValueInt
	SPValueLong
	SPValueFloat
	SPValueDouble
	SPValueBool
	SPValueString
	SPValueBytes
	SPValueDataset
	SPValueTemplate
	SPValueExtension
)

// SparkplugMetric is one metric on the wire. Has* fields tell a zero value from an
// absent one (proto2 optional semantics, which the spec relies on: alias 0 is valid).
type SparkplugMetric struct {
	Name                              string
	Alias                             uint64
	Timestamp                         uint64 // ms since the epoch
	Datatype                          SparkplugDataType
	HasName, HasAlias, HasTimestamp   bool
	HasDatatype                       bool
	IsHistorical, IsTransient, IsNull bool
	Kind                              SparkplugValueKind
	Int                               uint32 // int_value (Int8/16/32 two's complement, UInt8/16/32)
	Long                              uint64 // long_value (Int64 two's complement, UInt32/64, DateTime)
	Float                             float32
	Double                            float64
	Bool                              bool
	Str                               string // string_value (encoder side; the decoder skips it)
}

// SparkplugPayload is one Sparkplug B payload.
type SparkplugPayload struct {
	Timestamp    uint64 // ms since the epoch
	HasTimestamp bool
	Seq          uint64
	HasSeq       bool
	Metrics      []SparkplugMetric
}

var errSparkplugWire = errors.New("malformed Sparkplug B protobuf")

// UnmarshalSparkplug decodes b into p, reusing p.Metrics. Unknown fields are skipped as
// protobuf requires; a truncated or malformed message is an error. Metric names are
// copied (they outlive b); nothing else allocates.
func UnmarshalSparkplug(b []byte, p *SparkplugPayload) error {
	*p = SparkplugPayload{Metrics: p.Metrics[:0]}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: payload tag: %v", errSparkplugWire, protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == spPayloadTimestamp && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fmt.Errorf("%w: payload timestamp: %v", errSparkplugWire, protowire.ParseError(n))
			}
			p.Timestamp, p.HasTimestamp, b = v, true, b[n:]
		case num == spPayloadSeq && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fmt.Errorf("%w: payload seq: %v", errSparkplugWire, protowire.ParseError(n))
			}
			p.Seq, p.HasSeq, b = v, true, b[n:]
		case num == spPayloadMetrics && typ == protowire.BytesType:
			m, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("%w: metric %d: %v", errSparkplugWire, len(p.Metrics), protowire.ParseError(n))
			}
			p.Metrics = append(p.Metrics, SparkplugMetric{})
			if err := unmarshalMetric(m, &p.Metrics[len(p.Metrics)-1]); err != nil {
				return fmt.Errorf("metric %d: %w", len(p.Metrics)-1, err)
			}
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("%w: field %d: %v", errSparkplugWire, num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	return nil
}

func unmarshalMetric(b []byte, m *SparkplugMetric) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: tag: %v", errSparkplugWire, protowire.ParseError(n))
		}
		b = b[n:]
		if n = unmarshalMetricField(b, num, typ, m); n < 0 {
			return fmt.Errorf("%w: field %d: %v", errSparkplugWire, num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return nil
}

// unmarshalMetricField consumes one field's value and returns its length (<0 on error).
// A known field number with an unexpected wire type is skipped like an unknown field.
func unmarshalMetricField(b []byte, num protowire.Number, typ protowire.Type, m *SparkplugMetric) int {
	switch typ {
	case protowire.VarintType:
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return n
		}
		switch num {
		case spMetricAlias:
			m.Alias, m.HasAlias = v, true
		case spMetricTimestamp:
			m.Timestamp, m.HasTimestamp = v, true
		case spMetricDatatype:
			m.Datatype, m.HasDatatype = SparkplugDataType(uint32(v)), true
		case spMetricIsHistorical:
			m.IsHistorical = v != 0
		case spMetricIsTransient:
			m.IsTransient = v != 0
		case spMetricIsNull:
			m.IsNull = v != 0
		case spMetricInt:
			m.Kind, m.Int = SPValueInt, uint32(v)
		case spMetricLong:
			m.Kind, m.Long = SPValueLong, v
		case spMetricBool:
			m.Kind, m.Bool = SPValueBool, v != 0
		}
		return n
	case protowire.Fixed32Type:
		v, n := protowire.ConsumeFixed32(b)
		if n >= 0 && num == spMetricFloat {
			m.Kind, m.Float = SPValueFloat, math.Float32frombits(v)
		}
		return n
	case protowire.Fixed64Type:
		v, n := protowire.ConsumeFixed64(b)
		if n >= 0 && num == spMetricDouble {
			m.Kind, m.Double = SPValueDouble, math.Float64frombits(v)
		}
		return n
	case protowire.BytesType:
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return n
		}
		switch num {
		case spMetricName:
			m.Name, m.HasName = internName(v), true
		case spMetricString:
			m.Kind = SPValueString // not stored: the value is skipped with a reason
		case spMetricBytes:
			m.Kind = SPValueBytes
		case spMetricDataset:
			m.Kind = SPValueDataset
		case spMetricTemplate:
			m.Kind = SPValueTemplate
		case spMetricExtension:
			m.Kind = SPValueExtension
		}
		return n
	}
	return protowire.ConsumeFieldValue(num, typ, b)
}

// internName copies a metric name. Names arrive in BIRTH certificates (and in DATA from
// nodes that do not use aliases); the copy keeps the payload buffer from being retained
// by the alias tables.
func internName(b []byte) string { return string(b) }

// AppendSparkplug encodes p, appending to dst. Used by the simulator, the benchmarks and
// the rebirth command; it writes only the fields SparkplugPayload holds.
func AppendSparkplug(dst []byte, p *SparkplugPayload) []byte {
	if p.HasTimestamp {
		dst = protowire.AppendTag(dst, spPayloadTimestamp, protowire.VarintType)
		dst = protowire.AppendVarint(dst, p.Timestamp)
	}
	for i := range p.Metrics {
		dst = protowire.AppendTag(dst, spPayloadMetrics, protowire.BytesType)
		// Metrics are small: encode into the tail, then insert the length prefix.
		start := len(dst)
		dst = appendMetric(dst, &p.Metrics[i])
		dst = insertLength(dst, start)
	}
	if p.HasSeq {
		dst = protowire.AppendTag(dst, spPayloadSeq, protowire.VarintType)
		dst = protowire.AppendVarint(dst, p.Seq)
	}
	return dst
}

// insertLength prefixes dst[start:] with its length as a varint, in place.
func insertLength(dst []byte, start int) []byte {
	n := len(dst) - start
	k := protowire.SizeVarint(uint64(n))
	dst = append(dst, make([]byte, k)...)
	copy(dst[start+k:], dst[start:start+n])
	protowire.AppendVarint(dst[start:start], uint64(n))
	return dst
}

func appendMetric(dst []byte, m *SparkplugMetric) []byte {
	if m.HasName {
		dst = protowire.AppendTag(dst, spMetricName, protowire.BytesType)
		dst = protowire.AppendString(dst, m.Name)
	}
	varint := func(num protowire.Number, v uint64) {
		dst = protowire.AppendTag(dst, num, protowire.VarintType)
		dst = protowire.AppendVarint(dst, v)
	}
	if m.HasAlias {
		varint(spMetricAlias, m.Alias)
	}
	if m.HasTimestamp {
		varint(spMetricTimestamp, m.Timestamp)
	}
	if m.HasDatatype {
		varint(spMetricDatatype, uint64(m.Datatype))
	}
	if m.IsHistorical {
		varint(spMetricIsHistorical, 1)
	}
	if m.IsTransient {
		varint(spMetricIsTransient, 1)
	}
	if m.IsNull {
		varint(spMetricIsNull, 1)
	}
	switch m.Kind {
	case SPValueInt:
		varint(spMetricInt, uint64(m.Int))
	case SPValueLong:
		varint(spMetricLong, m.Long)
	case SPValueBool:
		varint(spMetricBool, b2u(m.Bool))
	case SPValueFloat:
		dst = protowire.AppendTag(dst, spMetricFloat, protowire.Fixed32Type)
		dst = protowire.AppendFixed32(dst, math.Float32bits(m.Float))
	case SPValueDouble:
		dst = protowire.AppendTag(dst, spMetricDouble, protowire.Fixed64Type)
		dst = protowire.AppendFixed64(dst, math.Float64bits(m.Double))
	case SPValueString:
		dst = protowire.AppendTag(dst, spMetricString, protowire.BytesType)
		dst = protowire.AppendString(dst, m.Str)
	case SPValueBytes:
		dst = protowire.AppendTag(dst, spMetricBytes, protowire.BytesType)
		dst = protowire.AppendString(dst, m.Str)
	case SPValueDataset, SPValueTemplate, SPValueExtension:
		num := map[SparkplugValueKind]protowire.Number{SPValueDataset: spMetricDataset, SPValueTemplate: spMetricTemplate, SPValueExtension: spMetricExtension}[m.Kind]
		dst = protowire.AppendTag(dst, num, protowire.BytesType)
		dst = protowire.AppendBytes(dst, nil)
	}
	return dst
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// value converts a metric's value to float64 as its datatype says. ok is false with the
// reason when the metric carries no number Faultline can store.
func (m *SparkplugMetric) value(dt SparkplugDataType) (v float64, r Reason, detail string) {
	if dt > spMaxDataType || (dt == SPUnknown && m.Kind == SPValueNone) {
		return 0, ReasonSPUnknownDatatype, fmt.Sprintf("datatype %d is not a Sparkplug B datatype", dt)
	}
	switch dt {
	case SPString, SPText, SPUUID, SPDataSet, SPBytes, SPFile, SPTemplate, SPDateTime:
		return 0, ReasonSPUnsupportedType, fmt.Sprintf("datatype %s is not a measurement", dt)
	}
	if dt >= 20 {
		return 0, ReasonSPUnsupportedType, fmt.Sprintf("datatype %s (property sets and arrays) is not stored", dt)
	}
	switch m.Kind {
	case SPValueInt:
		return intValue(m.Int, dt), "", ""
	case SPValueLong:
		if dt.signed() {
			return float64(int64(m.Long)), "", ""
		}
		return float64(m.Long), "", ""
	case SPValueFloat:
		v = float64(m.Float)
	case SPValueDouble:
		v = m.Double
	case SPValueBool:
		if m.Bool {
			return 1, "", ""
		}
		return 0, "", ""
	case SPValueNone:
		return 0, ReasonEmpty, "metric has no value"
	default:
		return 0, ReasonSPUnsupportedType, fmt.Sprintf("datatype %s carries a non-numeric value", dt)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, ReasonNotFinite, fmt.Sprintf("value %v is not finite", v)
	}
	return v, "", ""
}

// intValue reads int_value. Int8 and Int16 arrive either sign-extended to 32 bits
// (Tahu JavaScript) or as 8/16-bit two's complement (the 3.0 text); both are accepted:
// a raw value that fits the narrow width can only be the narrow encoding.
func intValue(u uint32, dt SparkplugDataType) float64 {
	switch dt {
	case SPInt8:
		if u <= math.MaxUint8 {
			return float64(int8(u))
		}
		return float64(int32(u))
	case SPInt16:
		if u <= math.MaxUint16 {
			return float64(int16(u))
		}
		return float64(int32(u))
	case SPInt32, SPInt64:
		return float64(int32(u))
	}
	return float64(u)
}

func (dt SparkplugDataType) signed() bool { return dt >= SPInt8 && dt <= SPInt64 }

var spTypeNames = [...]string{"Unknown", "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
	"Float", "Double", "Boolean", "String", "DateTime", "Text", "UUID", "DataSet", "Bytes", "File", "Template",
	"PropertySet", "PropertySetList", "Int8Array", "Int16Array", "Int32Array", "Int64Array", "UInt8Array",
	"UInt16Array", "UInt32Array", "UInt64Array", "FloatArray", "DoubleArray", "BooleanArray", "StringArray", "DateTimeArray"}

func (dt SparkplugDataType) String() string {
	if int(dt) < len(spTypeNames) {
		return spTypeNames[dt]
	}
	return fmt.Sprintf("DataType(%d)", uint32(dt))
}
