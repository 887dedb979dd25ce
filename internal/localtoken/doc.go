// Package localtoken is the admin token a daemon generates for itself when
// no api.tokens are configured, and the way the CLI on the same machine
// finds it.
//
// The token is 32 random bytes (crypto/rand), hex-encoded, kept in a file
// named admin.token that only its owner may read (0600): beside the SQLite
// store file, or under StateDir() when the store is not a file. A restart
// reuses it, so a CLI or script that read it keeps working.
//
// The CLI does not read the daemon's config, so the daemon also leaves a
// pointer under StateDir()/servers/, named after the API's bound address
// (127.0.0.1_7070.json), that names the token file. The CLI resolves its
// --server to the addresses it could mean and reads the pointer for each:
// a local `ripcord serve` or `ripcord demo --keep` works with no flags. The
// pointer is removed when the daemon stops. Pointers and tokens live in the
// user's own state directory, so another user finds neither.
//
// Neither the token nor anything derived from it is ever logged or put into
// an error: only the file's path is.
package localtoken
