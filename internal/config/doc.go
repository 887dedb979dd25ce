// Package config loads and validates ripcord's YAML configuration.
//
// Load is strict decode → defaults → Validate → providers. Unknown keys are
// errors, and every problem is reported at once with its path and line
// (services[1].policy.thresholds.error_rate, line 14) so a user fixes a file
// in one pass. Secrets come from *_file or ${ENV} references and are never
// part of an error message.
//
// Decoding walks the YAML syntax tree (from goccy/go-yaml's parser) against
// the structs' yaml tags instead of using the library's decoder, which stops
// at the first error. The walk records the line of every key, so problems
// found later by Validate point at the right line too. Aliases and merge
// keys are expanded within a node budget (see expand.go), so a few lines of
// nested aliases cannot make a decode run for minutes.
//
// Defaults fill keys that are absent (or null) in the file; a key written
// with an explicit zero keeps it, so "cooldown: 0" means no cooldown. Go code
// building a Config uses ApplyDefaults, where zero means unset. A thresholds
// map replaces DefaultThresholds wholesale.
//
// # Providers
//
// Signal sources (services[].signals.<kind>), the daemon-wide signal
// receivers (signals.<kind>: the OTLP receiver), revert targets
// (services[].target.<kind>) and notification channels
// (notify.channels[].<kind>) follow one convention:
//
//   - The provider's package owns its Config type, with yaml tags, and its
//     Validate method, which contacts nothing and reports problems as
//     field.Errors at paths relative to its block ("mode",
//     "queries.error_rate"). Secrets are field.Secret fields (the file gives
//     NAME_file or NAME: ${ENV}) and paths are field.File fields (relative
//     to the config file); the provider imports internal/config/field, never
//     this package.
//   - This package keeps each block as a Block (the YAML node, its path and
//     line), because it cannot name the provider's type without importing
//     the provider. Decode turns a Block into the provider's Config as
//     strictly as the rest of the file (unknown keys, wrong types, secrets
//     resolved), runs Validate and gives every problem its full path and
//     line. Parse routes each block to its kind from the Providers table:
//     unknown, missing and doubled kinds are problems like any other.
//   - internal/app holds that table (app.Providers) and is the one place
//     that maps a block to its provider; check-config and serve load with
//     it, so a provider's problems are reported with the file's.
//
// To add a provider:
//
//  1. In its package, define Config with yaml tags (field.Secret for
//     credentials, field.File for paths) and a value-receiver
//     Validate() error that checks what can be checked offline and returns
//     field.Errors, judging empty fields as their defaults. Its constructor
//     calls Validate too, so Go callers get the same checks.
//  2. Test Validate's problems in the provider's package.
//  3. Add one line to the signal, target or channel table in
//     internal/app/providers.go: the key, and how to build the provider from
//     its Config (a signal source or target that needs the daemon's state
//     gets a small build method in app beside the others).
//  4. Document its keys in docs/config.md.
//
// Nothing in this package changes: it never names a provider.
package config
