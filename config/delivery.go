package config

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// DeliveryType configures delivery records (ours): `record: true` makes
// every command that can record (add, sign, transfer, verify) store a
// signed delivery record as if --record were given.
const DeliveryType = "delivery.config.ocm.software"

// DeliveryConfig is the merged delivery configuration.
type DeliveryConfig struct {
	// Record records every step that can be recorded.
	Record bool `json:"record,omitempty"`
	// Signature names the signature whose key signs records (default
	// "default").
	Signature string `json:"signature,omitempty"`
}

// Delivery returns the merged delivery configuration (later entries win
// field by field). Unknown fields are errors naming the file: a misspelt
// switch must not silently leave recording off.
func (c *Config) Delivery() (DeliveryConfig, error) {
	var out DeliveryConfig
	for _, e := range c.EntriesOfType(DeliveryType) {
		var d struct {
			Type      string `json:"type"`
			Record    *bool  `json:"record"`
			Signature string `json:"signature"`
		}
		dec := json.NewDecoder(bytes.NewReader(e.Raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			return DeliveryConfig{}, fmt.Errorf("config file %s: %s: %w", e.Source, e.Type, err)
		}
		if d.Record != nil {
			out.Record = *d.Record
		}
		if d.Signature != "" {
			out.Signature = d.Signature
		}
	}
	return out, nil
}
