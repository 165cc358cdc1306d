package readme

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// goBlock is a Go code block of a Markdown file, with the line before it.
var goBlock = regexp.MustCompile("(?m)^(.*)\n```go\n((?s:.*?))```")

// Every Go block of the README compiles: a whole program is a package of
// examples/ (the quick start), any other block is in snippets.go, verbatim
// but for one tab of indentation. A block after an "excerpt" comment
// (method shapes, say) is not Go to compile.
func TestREADMECodeCompiles(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("snippets.go")
	if err != nil {
		t.Fatal(err)
	}
	snippets := strings.ReplaceAll("\n"+string(src), "\n\t", "\n")
	blocks := goBlock.FindAllStringSubmatch(string(readme), -1)
	if len(blocks) < 4 {
		t.Fatalf("found %d Go blocks in the README", len(blocks))
	}
	for _, b := range blocks {
		before, code := b[1], b[2]
		switch {
		case strings.Contains(before, "excerpt"):
		case strings.Contains("\n"+code, "\npackage main\n"):
			if !strings.Contains(code, "func main()") {
				t.Errorf("a whole program without main:\n%s", code)
			}
		case !strings.Contains(snippets, "\n"+code):
			t.Errorf("README block not in internal/readme/snippets.go (copy it there, indented once):\n%s", code)
		}
	}
}
