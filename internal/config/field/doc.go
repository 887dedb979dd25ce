// Package field is the vocabulary a provider's config type shares with the
// config loader: problems at a key path, secrets and file paths. It imports
// only the standard library.
//
// A provider (signal source, revert target, notification channel) owns its
// Config type and its Validate; internal/config decodes the provider's block
// of the file into that type, positions the problems and routes blocks to
// kinds (see its package doc for the steps to add a provider). Providers
// must not import internal/config: it is the schema of the whole file, and
// a provider importing it would pull every other provider's concerns into
// its build and make config import its providers back to type their
// blocks. They need three things from it, and these live here:
//
//   - Problem and Errors: Validate reports problems at paths relative to the
//     provider's block ("mode", "queries.error_rate"); the loader prefixes
//     the block's path (services[0].target.kubernetes.mode) and adds the
//     line. config.Errors is this same type, so one errors.As finds them all.
//   - Secret: a credential that prints, logs and marshals as "<redacted>".
//     A Secret field with key NAME is read from NAME_file: PATH (relative to
//     the config file) or NAME: ${ENV}; a literal value is refused. The
//     loader resolves it, so providers never read secret files or the
//     environment, and every provider gets the same rules and messages.
//   - File: a path the loader makes absolute against the config file's
//     directory, so a provider never needs to know where the file was.
//
// Keeping this apart from internal/config, rather than in it, is what lets
// a provider depend on nothing but the standard library for its config,
// and lets config import no provider: the decoder recognises these types by
// their identity, which both sides can name.
package field
