// Package jsonpath is the small JSON path syntax probe files and the Web
// source share: object keys and array indexes, "choices[0].message.content",
// with JSONPath's leading "$." accepted.
//
// It is hand-written on purpose: the callers need "a.b[0].c" and nothing
// more, which is a few dozen lines; the JSONPath and gjson libraries bring
// filter and wildcard syntaxes whose results can be many values, which an
// equals expectation or a metric value cannot use. Keys containing '.',
// '[' or ']' are not supported.
package jsonpath
