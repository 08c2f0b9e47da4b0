package results

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sampleJSON(t testing.TB) []byte {
	var b bytes.Buffer
	if err := EncodeJSON(&b, sample()); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// ReadJSON refuses what no kbench run writes, in one line.
func TestReadJSONRefusesHostileFiles(t *testing.T) {
	good := string(sampleJSON(t))
	for _, tc := range []struct{ name, body, want string }{
		{"not JSON", "hello", "not a kbench result file"},
		{"empty", "", "not a kbench result file"},
		{"NaN literal", strings.Replace(good, "1000000", "NaN", 1), "not a kbench result file"},
		{"overflowing number", strings.Replace(good, "1000000", "1e400", 1), "not a kbench result file"},
		{"negative count", strings.Replace(good, `"generated": 100`, `"generated": -100`, 1), "not a kbench result file"},
		{"negative CPU time", strings.Replace(good, `"user_ns": 0`, `"user_ns": -5`, 1), "negative"},
		{"negative thread clock", strings.Replace(good, `"user_ns": 0`, `"user_ns": 0, "cpu_ns": -5`, 1), "negative"},
		{"unknown status", strings.Replace(good, `"status": "ok"`, `"status": "great"`, 1), "unknown status"},
		{"unnamed workload", strings.Replace(good, `"workload": "fanin"`, `"workload": ""`, 1), "must be named"},
		{"other schema", strings.Replace(good, Schema, "other/v9", 1), "schema"},
		{"engine row out of range", strings.Replace(good, `"results":`, `"engine": {"seed": 1, "rounds": [[7]], "noisy_share": 0.1, "unstable_width": 0.1}, "results":`, 1), "round names row 7"},
		{"negative interval count", strings.Replace(good, `"samples":`, `"trust": {"headline": "events/s", "intervals": {"events/s": {"median": 1, "lo": 1, "hi": 1, "confidence": 0.9, "n": -1}}, "interference": 0, "max_interference": 0}, "samples":`, 1), "interval"},
		{"newline in error", "{\n\"schema\": 5\n}", "not a kbench result file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.body == good {
				t.Fatal("the substitution did not apply")
			}
			p := filepath.Join(t.TempDir(), "r.json")
			os.WriteFile(p, []byte(tc.body), 0o644)
			_, err := ReadJSON(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadJSON = %v, want an error with %q", err, tc.want)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
	p := filepath.Join(t.TempDir(), "big.json")
	f, _ := os.Create(p)
	f.Truncate(MaxFileSize + 1) // sparse: nothing is read
	f.Close()
	if _, err := ReadJSON(p); err == nil || !strings.Contains(err.Error(), "MiB") {
		t.Errorf("oversized file: %v", err)
	}
}

// A File built in memory with NaN or Inf is refused by Validate, and
// cannot be encoded either.
func TestValidateRefusesNonFinite(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		f := sample()
		f.Results[0].Samples[0].Values["events/s"] = v
		if err := f.Validate(); err == nil || !strings.Contains(err.Error(), "finite") {
			t.Errorf("%v: Validate = %v", v, err)
		}
		if err := EncodeJSON(&bytes.Buffer{}, f); err == nil {
			t.Errorf("%v encoded", v)
		}
	}
	if err := sample().Validate(); err != nil {
		t.Errorf("a good file refused: %v", err)
	}
}

// FuzzDecodeJSON: a result file's reader (kbench plot, kbench gate) never
// panics on any input, its errors are one line, and what it accepts the
// writers and summaries handle and encodes again.
func FuzzDecodeJSON(f *testing.F) {
	f.Add(sampleJSON(f))
	f.Add([]byte(`{"schema":"kbench.result/v1","results":[{"workload":"w","backend":"b","variant":"v","status":"ok","samples":[{"rep":0,"values":{"x":1}}]}]}`))
	f.Add([]byte(`{"schema":"kbench.result/v1","engine":{"rounds":[[0,1]]},"results":[]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := DecodeJSON(b)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		for i := range file.Results {
			r := &file.Results[i]
			for _, u := range r.Units {
				r.Summary(u.Name)
			}
			r.Totals()
			BenchName(r)
		}
		if err := WriteBench(&bytes.Buffer{}, file); err != nil {
			t.Logf("bench: %v", err) // an error is fine, a panic is not
		}
		if err := WriteCSV(&bytes.Buffer{}, file); err != nil {
			t.Fatalf("csv: %v", err)
		}
		if _, err := json.Marshal(file); err != nil {
			t.Fatalf("accepted, but does not encode again: %v", err)
		}
	})
}
