// Package workflows holds the tests of the repository's GitHub workflows,
// in .github/workflows: they pass actionlint, and the ones that change
// the MIG take turns and authenticate without keys.
package workflows
