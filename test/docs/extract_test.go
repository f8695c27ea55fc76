package docs

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// command is one shell command of a doc's code block.
type command struct {
	file  string   // relative to the repository root
	line  int      // where the command starts
	text  string   // continuation lines joined, trailing comment removed
	setup []string // VAR=value lines before it in the same block
	skip  string   // the doc's reason not to run it ("" = run)
}

func (c command) String() string { return fmt.Sprintf("%s:%d: %s", c.file, c.line, c.text) }

var (
	markerRE = regexp.MustCompile(`^<!--\s*docs-test:\s*(skip-command|skip)\s+(.*?)\s*-->$`)
	assignRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*=\S*\s*)+$`)
)

// shellBlock reports whether a fence's info string is a shell block.
func shellBlock(info string) bool {
	switch strings.Fields(info + " x")[0] {
	case "sh", "bash", "shell":
		return true
	}
	return false
}

// docFiles are README.md and docs/*.md, relative to root.
func docFiles(t *testing.T, root string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := []string{"README.md"}
	for _, f := range files {
		out = append(out, filepath.ToSlash(strings.TrimPrefix(f, root+string(filepath.Separator))))
	}
	return out
}

// extract reads the shell commands of one markdown file.
func extract(root, file string) ([]command, error) {
	raw, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		return nil, err
	}
	return parse(file, string(raw))
}

// marker is a docs-test comment waiting for its block.
type marker struct {
	prefix, reason string // prefix "" = the whole block
}

func parse(file, doc string) ([]command, error) {
	var (
		out     []command
		pending []marker
		sc      = bufio.NewScanner(strings.NewReader(doc))
	)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if m := markerRE.FindStringSubmatch(line); m != nil {
			mk, err := parseMarker(m[1], m[2])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", file, n, err)
			}
			pending = append(pending, mk)
			continue
		}
		if !strings.HasPrefix(line, "```") {
			if line != "" {
				pending = nil // a marker belongs to the block right after it
			}
			continue
		}
		info := strings.TrimPrefix(line, "```")
		start := n
		var body []string
		closed := false
		for sc.Scan() {
			n++
			if strings.HasPrefix(strings.TrimSpace(sc.Text()), "```") {
				closed = true
				break
			}
			body = append(body, sc.Text())
		}
		if !closed {
			return nil, fmt.Errorf("%s:%d: unclosed code block", file, start)
		}
		if shellBlock(info) {
			cmds, err := blockCommands(file, start+1, body, pending)
			if err != nil {
				return nil, err
			}
			out = append(out, cmds...)
		} else if len(pending) > 0 {
			return nil, fmt.Errorf("%s:%d: docs-test marker before a %q block, which is not a shell block", file, start, info)
		}
		pending = nil
	}
	return out, sc.Err()
}

func parseMarker(kind, rest string) (marker, error) {
	if kind == "skip" {
		if rest == "" {
			return marker{}, fmt.Errorf("docs-test skip without a reason")
		}
		return marker{reason: rest}, nil
	}
	prefix, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return marker{}, fmt.Errorf(`docs-test skip-command wants "PREFIX" REASON: %q`, rest)
	}
	reason := strings.TrimSpace(rest[len(prefix):])
	p, _ := strconv.Unquote(prefix)
	if p == "" || reason == "" {
		return marker{}, fmt.Errorf(`docs-test skip-command wants a non-empty "PREFIX" and a reason: %q`, rest)
	}
	return marker{prefix: p, reason: reason}, nil
}

// blockCommands splits a shell block into commands; first is the line number of its
// first body line.
func blockCommands(file string, first int, body []string, markers []marker) ([]command, error) {
	var (
		out   []command
		setup []string
		cur   strings.Builder
		at    int
	)
	used := make([]bool, len(markers))
	for i, raw := range body {
		line := strings.TrimSpace(raw)
		if cur.Len() == 0 {
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			at = first + i
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(strings.TrimSpace(cont) + " ")
			continue
		}
		cur.WriteString(stripComment(line))
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if assignRE.MatchString(text) {
			setup = append(setup, text)
			continue
		}
		c := command{file: file, line: at, text: text, setup: append([]string(nil), setup...)}
		for k, m := range markers {
			if m.prefix == "" || strings.HasPrefix(text, m.prefix) {
				c.skip, used[k] = m.reason, true
				break
			}
		}
		out = append(out, c)
	}
	if cur.Len() > 0 {
		return nil, fmt.Errorf("%s:%d: the block ends inside a continued line", file, at)
	}
	for k, m := range markers {
		if !used[k] {
			return nil, fmt.Errorf("%s:%d: docs-test marker %q matches no command of the block", file, first-1, m.prefix)
		}
	}
	return out, nil
}

// stripComment removes a trailing " # comment" outside quotes.
func stripComment(s string) string {
	var quote rune
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && i > 0 && (s[i-1] == ' ' || s[i-1] == '\t'):
			return strings.TrimSpace(s[:i])
		}
	}
	return s
}

func TestParse(t *testing.T) {
	doc := "intro\n" +
		"<!-- docs-test: skip-command \"make demo\" takes minutes -->\n" +
		"```sh\n" +
		"make demo   # the pipeline\n" +
		"# a comment line\n" +
		"D=../data IG=a,b\n" +
		"bin/x --a 1 \\\n" +
		"  --b '#not a comment' # but this is\n" +
		"```\n" +
		"<!-- docs-test: skip needs a cluster -->\n\n" +
		"```sh\n" +
		"kubectl apply -k .\n" +
		"```\n" +
		"```json\n{\"a\": 1}\n```\n"
	cmds, err := parse("t.md", doc)
	if err != nil {
		t.Fatal(err)
	}
	want := []command{
		{file: "t.md", line: 4, text: "make demo", skip: "takes minutes"},
		{file: "t.md", line: 7, text: "bin/x --a 1 --b '#not a comment'", setup: []string{"D=../data IG=a,b"}},
		{file: "t.md", line: 13, text: "kubectl apply -k .", skip: "needs a cluster"},
	}
	if fmt.Sprintf("%+v", cmds) != fmt.Sprintf("%+v", want) {
		t.Fatalf("got  %+v\nwant %+v", cmds, want)
	}
	for name, bad := range map[string]string{
		"marker matches nothing": "<!-- docs-test: skip-command \"nope\" r -->\n```sh\nls\n```\n",
		"skip without reason":    "<!-- docs-test: skip -->\n```sh\nls\n```\n",
		"marker before json":     "<!-- docs-test: skip r -->\n```json\n{}\n```\n",
		"unclosed":               "```sh\nls\n",
	} {
		if _, err := parse("t.md", bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
