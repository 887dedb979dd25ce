// Package config loads and validates ripcord's YAML configuration.
//
// Load is strict decode → defaults → Validate. Unknown keys are errors, and
// every problem is reported at once with its path and line
// (services[1].policy.thresholds.error_rate, line 14) so a user fixes a file
// in one pass. Secrets come from *_file or ${ENV} references and are never
// part of an error message.
package config
