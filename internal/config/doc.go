// Package config loads and validates ripcord's YAML configuration.
//
// Load is strict decode → defaults → Validate. Unknown keys are errors, and
// every problem is reported at once with its path and line
// (services[1].policy.thresholds.error_rate, line 14) so a user fixes a file
// in one pass. Secrets come from *_file or ${ENV} references and are never
// part of an error message.
//
// Decoding walks the YAML syntax tree (from goccy/go-yaml's parser) against
// the structs' yaml tags instead of using the library's decoder, which stops
// at the first error. The walk records the line of every key, so problems
// found later by Validate point at the right line too.
//
// Defaults fill keys that are absent (or null) in the file; a key written
// with an explicit zero keeps it, so "cooldown: 0" means no cooldown. Go code
// building a Config uses ApplyDefaults, where zero means unset. A thresholds
// map replaces DefaultThresholds wholesale.
package config
