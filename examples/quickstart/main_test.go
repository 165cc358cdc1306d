package main

import (
	"os"
	"strings"
	"testing"
)

// The README's quick start is this package, verbatim, so `go vet ./...` and
// this test keep it compiling and true.
func TestREADMEHasThisQuickStart(t *testing.T) {
	code, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```go\n"+string(code)+"```") {
		t.Fatal("README.md's quick start differs from examples/quickstart/main.go: update one from the other")
	}
}

func TestQuickStartRuns(t *testing.T) {
	main()
}
