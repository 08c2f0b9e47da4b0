package results

import (
	"encoding/json"
	"fmt"
	"os"
)

// WriteJSON writes f to path atomically.
func WriteJSON(path string, f *File) error {
	return WriteAtomic(path, func(w *os.File) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(f)
	})
}

// ReadJSON reads a result file, refusing other schemas.
func ReadJSON(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: not a kbench result file: %w", path, err)
	}
	if f.Schema != Schema {
		return nil, fmt.Errorf("%s: schema %q, want %q", path, f.Schema, Schema)
	}
	return &f, nil
}
