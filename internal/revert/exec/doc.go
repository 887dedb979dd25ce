// Package exec reverts by running a program the operator names, for
// systems that are neither behind ripcord's switch nor Kubernetes
// Deployments.
//
// # Safety by construction
//
//   - argv only, never a shell: the program is argv[0], a literal absolute
//     path (no template, no PATH search), and it is started directly.
//   - Each later element of argv may be a text/template over .Service,
//     .From, .To and .Reason and expands into exactly that one argument:
//     no value can split into several arguments or be parsed as shell
//     syntax. No other field is templated, so a template outside argv
//     cannot exist.
//   - Values are checked before anything runs: To and From must match
//     ^[A-Za-z0-9._-]+$ (and not start with '-', nor be "." or ".."), no
//     argument may hold a NUL byte, and each template sees only the fields
//     it names, so the free-text reason reaches the program only where a
//     template asks for {{.Reason}}.
//   - The program gets PATH, HOME, LANG, LC_ALL, TZ, TMPDIR and the
//     variables listed in env, nothing else of ripcord's environment.
//
// # Running
//
// The program runs in its own process group (Setpgid). On timeout (or
// when the caller's context ends) the whole group is killed with SIGKILL,
// so children die too. Where there are no process groups (Windows) only
// the program itself is killed. stdout and stderr are captured, each capped at
// 64 KiB with a note when cut, scrubbed of the secret values the caller
// passes (WithSecrets) and of anything that looks like a credential
// (Bearer/Basic values, URL passwords, password=/token= pairs), and
// returned in revert.Result.Output for the timeline — on failure too.
//
// A non-zero exit, a signal or a timeout is a failed revert, and the error
// says which (errors.Is ErrExit or ErrTimeout), quoting the last line of
// stderr. The program must be idempotent: after a crash the controller
// re-runs the revert, and switching to the version already live must
// succeed. Status knows only what this process last switched to.
package exec
